"""Events built by the official timeback-caliper client's factories, sent to caliper-local as the
client's own envelope: accepted as built, rejected with a precise path when a field is wrong."""
import uuid
from datetime import datetime, timezone

import pytest
from timeback_caliper import (
    create_activity_event,
    create_question_answered_event,
    create_question_graded_event,
    create_question_seen_event,
    create_time_spent_event,
)
from timeback_caliper.constants import CALIPER_DATA_VERSION
from timeback_caliper.types.timeback import (
    ActivityCompletedInput,
    QuestionAnsweredInput,
    QuestionGradedInput,
    QuestionObjectInput,
    QuestionSeenInput,
    ResponseGeneratedInput,
    ScoreGeneratedInput,
    TimebackActivity,
    TimebackActivityContext,
    TimebackActivityMetric,
    TimebackApp,
    TimebackCourse,
    TimebackUser,
    TimeSpentInput,
    TimeSpentMetric,
)

ACTOR = TimebackUser(id="https://example.edu/users/554433", email="student@example.edu", name="Ann", role="student")
CONTEXT = TimebackActivityContext(
    id="https://example.edu/activities/7",
    subject="Math",
    app=TimebackApp(name="Fractions", id="https://example.edu/apps/fractions"),
    course=TimebackCourse(name="Grade 5 Math"),
    activity=TimebackActivity(name="Adding fractions"),
    process=True,
)


def built_events():
    question = QuestionObjectInput(id="urn:uuid:" + str(uuid.uuid4()), name="What is 1/2 + 1/4?")
    attempt = "urn:uuid:" + str(uuid.uuid4())
    events = [
        create_activity_event(ActivityCompletedInput(
            actor=ACTOR, object=CONTEXT, attempt=1,
            metrics=[TimebackActivityMetric(type="totalQuestions", value=10),
                     TimebackActivityMetric(type="correctQuestions", value=8),
                     TimebackActivityMetric(type="xpEarned", value=12.5)],
            extensions={"lesson": 3}, generated_extensions={"source": "quiz"})),
        create_time_spent_event(TimeSpentInput(
            actor=ACTOR, object=CONTEXT,
            metrics=[TimeSpentMetric(type="active", value=1800), TimeSpentMetric(type="inactive", value=120.5)])),
        create_question_seen_event(QuestionSeenInput(
            actor=ACTOR.id, object=question, ed_app="https://example.edu/apps/fractions")),
        create_question_answered_event(QuestionAnsweredInput(
            actor=ACTOR.id, object=question, ed_app="https://example.edu/apps/fractions",
            generated=ResponseGeneratedInput(id="urn:uuid:" + str(uuid.uuid4()), attempt=attempt))),
        create_question_graded_event(QuestionGradedInput(
            actor=ACTOR.id, object=attempt, ed_app="https://example.edu/apps/fractions",
            generated=ScoreGeneratedInput(score_given=1, max_score=1, attempt=attempt))),
    ]
    return [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in events]


def envelope(events):
    """The envelope the client's `events.send` builds around the events."""
    return {
        "sensor": "https://example.edu/apps/fractions",
        "sendTime": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "dataVersion": CALIPER_DATA_VERSION,
        "data": events,
    }


def test_the_factories_events_are_valid_and_accepted(embedded):
    body = envelope(built_events())
    status, reply = embedded.request("POST", "/caliper/event/validate", body)
    assert (status, reply["status"]) == (200, "success"), reply
    status, reply = embedded.request("POST", "/caliper/event", body)
    assert status == 200, reply
    job = embedded.wait_for_job(reply["jobId"])
    assert job["state"] == "completed", job
    assert [r["externalId"] for r in job["returnValue"]["results"]] == [e["id"] for e in body["data"]]


def edit(index, path, value):
    events = built_events()
    target = events[index]
    *parents, last = path
    for key in parents:
        target = target[key]
    target[last] = value
    return events


@pytest.mark.parametrize("events, pointer, words", [
    (edit(0, ["object", "subject"], "Maths"), "/data/0/object/subject", '"Maths"'),
    (edit(1, ["object", "subject"], "Art"), "/data/1/object/subject", '"Art"'),
    (edit(0, ["generated", "items", 0, "type"], "questionsAnswered"), "/data/0/generated/items/0/type", '"xpEarned"'),
    (edit(1, ["generated", "items", 0, "type"], "idle"), "/data/1/generated/items/0/type", '"active"'),
    (edit(0, ["action"], "SpentTime"), "/data/0/action", '"Completed"'),
    (edit(1, ["action"], "Completed"), "/data/1/action", '"SpentTime"'),
    (edit(2, ["action"], "Graded"), "/data/2/action", '"Started"'),
    (edit(4, ["generated", "type"], "Result"), "/data/4/generated/type", "Score"),
])
def test_a_wrong_subject_metric_or_action_is_pointed_at(embedded, events, pointer, words):
    status, reply = embedded.request("POST", "/caliper/event/validate", envelope(events))
    assert (status, reply["status"]) == (200, "error"), reply
    at = [e for e in reply["errors"] if e["path"] == pointer]
    assert at, reply["errors"]
    assert words in at[0]["message"], at[0]["message"]
    status, reply = embedded.request("POST", "/caliper/event", envelope(events))
    assert status == 400 and "jobId" not in reply, reply
