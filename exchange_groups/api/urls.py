from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from . import views

base = "email/exchange/<str:organizationName>/service/<str:exchangeService>"
mailing_list = f"{base}/mailingList/<str:mailingListAddress>"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Redoc, not Swagger UI: a reading view that passes axe-core (Swagger UI's buttons hold
    # links, its grey text is below 4.5:1, and its page has no language). Its script is a
    # file (the CSP allows no inline script); it renders the schema in a blob: worker.
    path(
        "docs/",
        csp_update({"worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema", template_name="api/docs.html")
        ),
        name="api-docs",
    ),
    path(f"{base}/mailingList", views.MailingLists.as_view()),
    path(mailing_list, views.MailingList.as_view()),
    path(f"{mailing_list}/alias", views.Aliases.as_view()),
    path(f"{mailing_list}/alias/<str:alias>", views.AliasItem.as_view()),
    path(f"{base}/task", views.Tasks.as_view()),
    path(f"{base}/task/<int:pk>", views.TaskDetail.as_view()),
    path(f"{base}/account", views.Accounts.as_view()),
    path(f"{base}/task/<int:pk>/retry", views.TaskRetry.as_view()),
    path(f"{base}/task/<int:pk>/cancel", views.TaskCancel.as_view()),
    path(f"{base}/externalContact", views.ExternalContacts.as_view()),
    path(f"{base}/externalContact/<str:externalEmailAddress>", views.ExternalContactItem.as_view()),
]
for kind in views.PARTS:
    collection, item = views.part_views(kind)
    urlpatterns += [
        path(f"{mailing_list}/{kind}", collection),
        path(f"{mailing_list}/{kind}/<int:pk>", item),
    ]
