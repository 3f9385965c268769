"""Partner webhooks of storyboards: storyboard.succeeded and storyboard.failed, after the terminal commit."""

from __future__ import annotations

import logging
import uuid

from generations.media_links import webhook_link
from storyboards.models import Storyboard
from storyboards.representation import storyboard_payload
from webhooks import services as webhooks

logger = logging.getLogger(__name__)


def storyboard_publish_terminal(*, storyboard_id: uuid.UUID | str) -> None:
    storyboard = Storyboard.objects.select_related("organization", "end_user").get(pk=storyboard_id)
    if not storyboard.is_terminal:
        return
    organization_id = storyboard.organization_id
    shots = list(storyboard.shots.select_related("generation").order_by("position"))
    webhooks.event_publish(
        organization=storyboard.organization,
        event_type=f"storyboard.{storyboard.status}",
        payload=storyboard_payload(
            storyboard, shots=shots, link_for=lambda name: webhook_link(name=name, organization_id=organization_id)
        ),
    )
