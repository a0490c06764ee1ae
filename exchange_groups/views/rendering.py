from django.shortcuts import render


def render_region(request, template: str, region: str, context: dict, **kwargs):
    """The whole page, or only its swappable region (a partial of the same template) when
    htmx asks: every URL also works without JavaScript."""
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        template = f"{template}#{region}"
    return render(request, template, context, **kwargs)
