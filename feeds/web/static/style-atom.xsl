<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an Atom 1.0 feed as a readable page when a person opens it in a browser.
     Feed readers ignore the xml-stylesheet instruction and read the raw feed. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:media="http://search.yahoo.com/mrss/"
    exclude-result-prefixes="atom media">
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>
  <xsl:variable name="self" select="/atom:feed/atom:link[@rel='self']/@href"/>
  <xsl:template match="/">
    <html lang="{/atom:feed/@xml:lang}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="/atom:feed/atom:title"/> (Atom feed)</title>
        <style>
          body { font: 17px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
          .about { background: #fff6e8; border: 1px solid #f0c58a; border-radius: 6px; padding: .8rem 1rem; }
          .about code { background: #fff; border: 1px solid #ddd; padding: .1rem .3rem; word-break: break-all; }
          h1 { font-size: 1.6rem; margin: 1.2rem 0 .2rem; }
          .desc { color: #555; margin-top: 0; }
          article { border-top: 1px solid #e5e5e5; padding: .8rem 0; }
          article h2 { font-size: 1.15rem; margin: 0 0 .2rem; }
          article h2 a { color: #0a4a8a; text-decoration: none; }
          article h2 a:hover { text-decoration: underline; }
          .meta { color: #666; font-size: .88rem; }
          .thumb { float: right; max-width: 7rem; max-height: 5rem; margin: 0 0 .4rem .8rem; border-radius: 4px; }
          article p { margin: .3rem 0 0; }
          article::after { content: ""; display: block; clear: both; }
        </style>
      </head>
      <body>
        <p class="about"><strong>This is a web feed.</strong> Subscribe by copying its address into your
          feed reader: <code><xsl:value-of select="$self"/></code></p>
        <h1><xsl:value-of select="/atom:feed/atom:title"/></h1>
        <p class="desc"><xsl:value-of select="/atom:feed/atom:subtitle"/>
          (<a href="{/atom:feed/atom:link[@rel='alternate']/@href}">visit the website</a>)</p>
        <xsl:for-each select="/atom:feed/atom:entry">
          <article>
            <xsl:if test="media:thumbnail/@url">
              <img class="thumb" src="{media:thumbnail/@url}" alt=""/>
            </xsl:if>
            <h2><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h2>
            <div class="meta">
              <xsl:value-of select="substring(atom:published, 1, 10)"/>
              <xsl:for-each select="atom:author"> · <xsl:value-of select="atom:name"/></xsl:for-each>
              <xsl:for-each select="atom:category"> · <xsl:value-of select="@label"/></xsl:for-each>
            </div>
            <p><xsl:value-of select="atom:summary"/></p>
          </article>
        </xsl:for-each>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
