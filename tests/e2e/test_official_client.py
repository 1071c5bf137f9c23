"""The official timeback-caliper client, unchanged, against caliper-local: it authenticates through
the local /oauth2/token with its own token manager, sends with every send method, validates,
follows its jobs, and reads back exactly what it sent with list (each filter), stream and get."""
import asyncio
import uuid

import pytest
from timeback_caliper import CaliperClient, create_activity_event
from timeback_caliper.constants import CALIPER_DATA_VERSION
from timeback_caliper.types import CaliperEnvelope
from timeback_caliper.types.timeback import (
    ActivityCompletedInput,
    TimebackActivity,
    TimebackActivityContext,
    TimebackActivityMetric,
    TimebackApp,
    TimebackCourse,
    TimebackUser,
    TimeSpentInput,
    TimeSpentMetric,
)

from conftest import CLIENTS
from test_caliper_spec import as_envelope, fixtures

STORED = ["type", "profile", "action", "eventTime", "actor", "object", "generated", "target", "referrer",
          "edApp", "group", "membership", "session", "federatedSession", "extensions"]


@pytest.fixture(params=["embedded", "aws"])
def local(request):
    """caliper-local on the embedded store, and on DynamoDB and SQS (moto)."""
    return request.getfixturevalue(request.param)


def client_of(local, client="e2e-app"):
    return CaliperClient(base_url=local.url, auth_url=local.url + "/oauth2/token",
                         client_id=client, client_secret=CLIENTS[client][0])


def person(n):
    return TimebackUser(id=f"https://example.edu/users/{n}", email=f"Student{n}@Example.edu", name=f"S{n}", role="student")


def activity(sensor_app):
    return TimebackActivityContext(
        id="https://example.edu/activities/7", subject="Math",
        app=TimebackApp(name="Fractions", id=sensor_app), course=TimebackCourse(name="Grade 5 Math"),
        activity=TimebackActivity(name="Adding fractions"),
    )


async def completed(caliper, job_id):
    status = await caliper.jobs.wait_for_completion(job_id, timeout=20, poll_interval=0.05)
    assert status.state == "completed" and status.return_value.status == "success", status
    return [result.external_id for result in status.return_value.results]


def assert_stored_as_sent(stored, sent, sensor):
    got = stored.model_dump(mode="json", by_alias=True)
    assert got["externalId"] == sent["id"] and got["sensor"] == sensor and got["clientAppId"] == "e2e-app"
    for field in STORED:
        if field == "eventTime":
            continue  # normalised to UTC with milliseconds kept; compared as instants below
        assert got[field] == sent.get(field), (field, got[field], sent.get(field))


def test_every_send_method_stores_what_it_was_given_and_reads_it_back(local):
    sensor = f"https://example.edu/sensors/{uuid.uuid4()}"

    async def run():
        caliper = client_of(local)
        try:
            sent = {}
            # send_activity and send_time_spent build their events: each comes back by id.
            result = await caliper.events.send_activity(sensor, ActivityCompletedInput(
                actor=person(1), object=activity("https://example.edu/apps/fractions"), attempt=1,
                metrics=[TimebackActivityMetric(type="totalQuestions", value=10),
                         TimebackActivityMetric(type="correctQuestions", value=8)]))
            [activity_id] = await completed(caliper, result.job_id)
            result = await caliper.events.send_time_spent(sensor, TimeSpentInput(
                actor=person(2), object=activity("https://example.edu/apps/fractions"),
                metrics=[TimeSpentMetric(type="active", value=1800)]))
            [time_spent_id] = await completed(caliper, result.job_id)
            got = await caliper.events.get(activity_id)
            assert (got.type, got.action, got.actor["email"]) == ("ActivityEvent", "Completed", "Student1@Example.edu")
            assert [m["type"] for m in got.generated["items"]] == ["totalQuestions", "correctQuestions"]
            got = await caliper.events.get(time_spent_id)
            assert (got.type, got.action, got.generated["items"][0]["value"]) == ("TimeSpentEvent", "SpentTime", 1800)

            # send: events built by the client's factory, and the specification's own events.
            built = create_activity_event(ActivityCompletedInput(
                actor=person(3), object=activity("https://example.edu/apps/fractions"),
                metrics=[TimebackActivityMetric(type="xpEarned", value=12.5)])).model_dump(mode="json", by_alias=True, exclude_none=True)
            spec = [dict(event, id=f"urn:uuid:{uuid.uuid4()}") for name, event in fixtures("valid")
                    if name.startswith("caliperEvent") and "data" not in event][:6]
            assert len(spec) >= 3, "the specification's event fixtures"
            result = await caliper.events.send(sensor, [built, *spec])
            ids = await completed(caliper, result.job_id)
            assert ids == [built["id"], *[event["id"] for event in spec]]
            sent.update({event["id"]: event for event in [built, *spec]})

            # send_envelope: the envelope exactly as given.
            events = [dict(event, id=f"urn:uuid:{uuid.uuid4()}") for event in spec[:2]]
            result = await caliper.events.send_envelope(CaliperEnvelope(
                sensor=sensor, send_time="2026-01-02T03:04:05.678Z", data_version=CALIPER_DATA_VERSION, data=events))
            status = await caliper.jobs.get_status(result.job_id)
            assert status.id == result.job_id and status.state in ("waiting", "active", "completed")
            assert await completed(caliper, result.job_id) == [event["id"] for event in events]
            sent.update({event["id"]: event for event in events})

            for external_id, event in sent.items():
                assert_stored_as_sent(await caliper.events.get(external_id), event, sensor)
            listed = await caliper.events.stream(sensor=sensor, limit=3).to_list()
            assert {e.external_id for e in listed} == {activity_id, time_spent_id, *sent}
            assert len(listed) == len(sent) + 2, "no event twice across pages"
        finally:
            await caliper.close()

    asyncio.run(run())


def test_validate_answers_success_or_every_problem(embedded):
    async def run():
        caliper = client_of(embedded)
        try:
            name, fixture = fixtures("valid")[0]
            result = await caliper.events.validate(CaliperEnvelope(**as_envelope(fixture)))
            assert result.status == "success", (name, result)
            bad = dict(as_envelope(fixture), sensor="not an IRI")
            result = await caliper.events.validate(CaliperEnvelope(**bad))
            assert result.status == "error" and any(e["path"] == "/sensor" for e in result.errors), result
        finally:
            await caliper.close()

    asyncio.run(run())


def test_list_filters_and_stream_pages_agree_with_what_was_sent(local):
    sensor = f"https://example.edu/sensors/{uuid.uuid4()}"
    times = [f"2026-03-{day:02d}T10:00:00.000Z" for day in range(1, 8)]
    events = [
        create_activity_event(ActivityCompletedInput(
            actor=person(10 + i % 2), object=activity("https://example.edu/apps/fractions"), event_time=time,
            metrics=[TimebackActivityMetric(type="totalQuestions", value=i)])).model_dump(mode="json", by_alias=True, exclude_none=True)
        for i, time in enumerate(times)
    ]

    async def run():
        caliper = client_of(local)
        try:
            result = await caliper.events.send(sensor, events)
            await completed(caliper, result.job_id)
            newest_first = [e["id"] for e in reversed(events)]

            page = await caliper.events.list(sensor=sensor, limit=3)
            assert [e.external_id for e in page.events] == newest_first[:3]
            assert (page.pagination.total, page.pagination.total_pages, page.pagination.current_page) == (7, 3, 1)
            page = await caliper.events.list(sensor=sensor, limit=3, offset=6)
            assert [e.external_id for e in page.events] == newest_first[6:]

            by_actor = await caliper.events.list(sensor=sensor, actor_id=person(11).id)
            assert [e.external_id for e in by_actor.events] == [e["id"] for e in reversed(events) if e["actor"]["id"] == person(11).id]
            by_email = await caliper.events.list(sensor=sensor, actor_email="student10@example.edu")
            assert [e.external_id for e in by_email.events] == [e["id"] for e in reversed(events) if e["actor"]["id"] == person(10).id]
            window = await caliper.events.list(sensor=sensor, start_date="2026-03-02", end_date="2026-03-04")
            assert [e.external_id for e in window.events] == newest_first[3:6]
            after = await caliper.events.list(sensor=sensor, start_date="2026-03-06T00:00:00Z")
            assert [e.external_id for e in after.events] == newest_first[:2]

            streamed = await caliper.events.stream(sensor=sensor, limit=2).to_list()
            assert [e.external_id for e in streamed] == newest_first, "four pages, in order, none twice"
            capped = await caliper.events.stream(sensor=sensor, limit=2, max_items=3).to_list()
            assert [e.external_id for e in capped] == newest_first[:3]
        finally:
            await caliper.close()

    asyncio.run(run())


def test_a_client_reads_only_its_own_events(embedded):
    async def run():
        mine, theirs = client_of(embedded, "e2e-app"), client_of(embedded, "e2e-other")
        try:
            sensor = f"https://example.edu/sensors/{uuid.uuid4()}"
            result = await mine.events.send_activity(sensor, ActivityCompletedInput(
                actor=person(20), object=activity("https://example.edu/apps/fractions"),
                metrics=[TimebackActivityMetric(type="totalQuestions", value=1)]))
            [external_id] = await completed(mine, result.job_id)
            assert (await theirs.events.list(sensor=sensor)).pagination.total == 0
            with pytest.raises(Exception) as refused:
                await theirs.events.get(external_id)
            assert "404" in str(refused.value) or "not found" in str(refused.value).lower()
        finally:
            await mine.close()
            await theirs.close()

    asyncio.run(run())
