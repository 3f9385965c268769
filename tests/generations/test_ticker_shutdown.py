"""A stopping node's ticker submits no new job (a create cut off by the exit would end "outcome unknown")."""

from generations import services, ticker
from generations.models import Generation, Status
from tests.generations.test_lifecycle import create, generous_trial  # noqa: F401 (autouse fixture)


def test_a_stopping_ticker_claims_no_queued_job(organization, simulator):
    first, second = create(organization), create(organization)
    asked = []

    def stop_after_the_first() -> bool:
        asked.append(1)
        return len(asked) > 1

    assert services.dispatch_pending(should_stop=stop_after_the_first) == 1
    statuses = sorted(Generation.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses.count(Status.QUEUED) == 1


def test_a_pass_run_while_stopping_leaves_the_queue_for_the_next_node(organization, simulator):
    generation = create(organization)
    result = ticker.run_pass(ticker.Lease(owner="node-1:1"), should_stop=lambda: True)
    assert result is not None and result["dispatched"] == 0
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
