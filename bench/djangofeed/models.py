from django.db import models


class Story(models.Model):
    url = models.URLField(max_length=2048, unique=True)
    title = models.TextField()
    section = models.CharField(max_length=64, db_index=True)
    published = models.DateTimeField(db_index=True)
    updated = models.DateTimeField()
    summary = models.TextField()
    content_html = models.TextField()
    author = models.TextField()

    class Meta:
        app_label = "djangofeed"
