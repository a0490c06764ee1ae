from django.contrib import admin
from django.urls import path

admin.site.site_header = "Exchange — support"
admin.site.site_title = "Exchange support"

urlpatterns = [
    path("admin/", admin.site.urls),
]
