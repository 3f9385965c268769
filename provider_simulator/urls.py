"""Serves the in-process provider simulator's output videos (mounted only when EACHLABS_SIMULATED)."""

from django.http import FileResponse, Http404
from django.urls import path
from django.views.decorators.http import require_safe

from provider_simulator import get_simulator


@require_safe
def simulator_output(request, prediction_id: str):
    """The MP4 of a finished simulated prediction; 404 once its retention has passed, as real URLs expire."""
    output = get_simulator().output_file(prediction_id)
    if output is None:
        raise Http404("No such output, or it has expired.")
    return FileResponse(output.open("rb"), content_type="video/mp4")


urlpatterns = [
    path("simulator/outputs/<str:prediction_id>.mp4", simulator_output, name="eachlabs_simulator_output"),
]
