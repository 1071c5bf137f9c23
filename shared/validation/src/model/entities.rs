//! Appendices C, D and E of Caliper 1.1 and 1.2 (and the 1.1 profile extensions' types): every
//! entity type, its supertype and the properties it adds, each marked where only one version has it.

use super::vocabulary::{LTI_MESSAGE_TYPES, ROLES, STATUSES, SYSTEM_IDENTIFIER_TYPES};
use super::Kind::{self, *};
use super::{opt, req, EntityType, Property, Versions};

const AGENT: Kind = Entity(&["Agent"]);
const PERSON: Kind = Entity(&["Person"]);
const DIGITAL_RESOURCE: Kind = Entity(&["DigitalResource"]);
const ATTEMPT: Kind = Entity(&["Attempt"]);
const TEXTS: Kind = List(&Text);

/// An entity type below `Entity`.
pub(super) const fn entity(
    name: &'static str,
    supertype: &'static str,
    properties: &'static [Property],
) -> EntityType {
    EntityType {
        name,
        supertype: Some(supertype),
        properties,
        open: false,
        versions: Versions::BOTH,
    }
}

/// A structured value without an `id` of its own.
const fn value(name: &'static str, properties: &'static [Property]) -> EntityType {
    EntityType {
        name,
        supertype: None,
        properties,
        open: false,
        versions: Versions::BOTH,
    }
}

const RESPONSE_VALUE: &[Property] = &[opt("value", Text)];

/// What Caliper 1.1 gives an assignable resource only (1.2 gives every resource).
const ASSIGNABLE: &[Property] = &[
    opt("dateToActivate", DateTime),
    opt("dateToShow", DateTime),
    opt("dateToStartOn", DateTime),
    opt("dateToSubmit", DateTime),
    opt("maxAttempts", Count),
    opt("maxSubmits", Count),
    opt("maxScore", Number),
];
const RESPONSE_VALUES: &[Property] = &[opt("values", TEXTS)];

pub const ALL: &[EntityType] = &[
    EntityType {
        name: "Entity",
        supertype: None,
        properties: &[
            req("id", EntityId),
            req("type", Text),
            opt("@context", Text),
            opt("name", Text),
            opt("description", Text),
            opt("dateCreated", DateTime),
            opt("dateModified", DateTime),
            // Caliper 1.2 gave every entity these; in 1.1 only some types have `isPartOf`.
            opt("otherIdentifiers", List(&Entity(&["SystemIdentifier"]))).only(Versions::V1P2),
            opt("isPartOf", Entity(&["Entity"])).only(Versions::V1P2),
            opt("extensions", Map),
        ],
        open: false,
        versions: Versions::BOTH,
    },
    // Agents
    entity("Agent", "Entity", &[]),
    entity("Person", "Agent", &[]),
    entity(
        "Organization",
        "Agent",
        &[
            opt("members", List(&AGENT)),
            opt("subOrganizationOf", Entity(&["Organization"])),
        ],
    ),
    entity(
        "CourseOffering",
        "Organization",
        &[opt("courseNumber", Text), opt("academicSession", Text)],
    ),
    entity("CourseSection", "CourseOffering", &[opt("category", Text)]),
    entity("Group", "Organization", &[]),
    entity(
        "SoftwareApplication",
        "Agent",
        &[
            opt("host", Text).only(Versions::V1P2),
            opt("ipAddress", Text).only(Versions::V1P2),
            opt("userAgent", Text).only(Versions::V1P2),
            opt("version", Text),
        ],
    ),
    // Digital resources
    entity(
        "DigitalResource",
        "Entity",
        &[
            opt("creators", List(&AGENT)),
            opt("mediaType", Text),
            opt("keywords", TEXTS),
            opt("learningObjectives", List(&Entity(&["LearningObjective"]))),
            opt("isPartOf", Entity(&["Entity"])).only(Versions::V1P1),
            // Deprecated by Caliper 1.1 (its schemas keep it), back in 1.2.
            opt(
                "alignedLearningObjective",
                List(&Entity(&["LearningObjective"])),
            ),
            opt("datePublished", DateTime),
            opt("version", Text),
            opt("storageName", Text).only(Versions::V1P2),
            // The official 1.2 schemas allow the assignable properties on every resource.
            opt("dateToActivate", DateTime).only(Versions::V1P2),
            opt("dateToShow", DateTime).only(Versions::V1P2),
            opt("dateToStartOn", DateTime).only(Versions::V1P2),
            opt("dateToSubmit", DateTime).only(Versions::V1P2),
            opt("maxAttempts", Count).only(Versions::V1P2),
            opt("maxSubmits", Count).only(Versions::V1P2),
            opt("maxScore", Number).only(Versions::V1P2),
        ],
    ),
    entity("AssignableDigitalResource", "DigitalResource", ASSIGNABLE),
    entity(
        "Assessment",
        "AssignableDigitalResource",
        &[opt("items", List(&Entity(&["AssessmentItem"])))],
    ),
    entity(
        "AssessmentItem",
        "AssignableDigitalResource",
        &[opt("isTimeDependent", Boolean)],
    ),
    entity("Chapter", "DigitalResource", &[]),
    entity("Document", "DigitalResource", &[]),
    entity("Frame", "DigitalResource", &[opt("index", Integer)]),
    entity(
        "LtiLink",
        "DigitalResource",
        &[opt("messageType", Term(LTI_MESSAGE_TYPES))],
    ),
    entity(
        "MediaLocation",
        "DigitalResource",
        &[opt("currentTime", Duration)],
    ),
    entity(
        "MediaObject",
        "DigitalResource",
        &[opt("duration", Duration)],
    ),
    entity(
        "AudioObject",
        "MediaObject",
        &[
            opt("volumeMin", Text),
            opt("volumeMax", Text),
            opt("volumeLevel", Text),
            opt("muted", Boolean),
        ],
    ),
    entity("ImageObject", "MediaObject", &[]),
    entity("VideoObject", "MediaObject", &[]),
    entity(
        "Message",
        "DigitalResource",
        &[
            opt("replyTo", Entity(&["Message"])),
            opt("isPartOf", Entity(&["Thread"])),
            opt("body", Text),
            opt("attachments", List(&DIGITAL_RESOURCE)),
        ],
    ),
    entity("Page", "DigitalResource", &[]),
    // Deprecated by Caliper 1.1 and gone from 1.2 (its context no longer defines them).
    entity("Reading", "DigitalResource", &[]).only(Versions::V1P1),
    entity("EpubChapter", "DigitalResource", &[]).only(Versions::V1P1),
    entity("EpubPart", "DigitalResource", &[]).only(Versions::V1P1),
    entity(
        "EpubSubChapter",
        "DigitalResource",
        &[opt("isPartOf", Entity(&["EpubChapter"]))],
    )
    .only(Versions::V1P1),
    entity("EpubVolume", "DigitalResource", &[]).only(Versions::V1P1),
    entity("WebPage", "DigitalResource", &[]),
    entity(
        "DigitalResourceCollection",
        "DigitalResource",
        &[opt("items", List(&DIGITAL_RESOURCE))],
    ),
    entity(
        "Forum",
        "DigitalResourceCollection",
        &[opt("items", List(&Entity(&["Thread"])))],
    ),
    entity(
        "Thread",
        "DigitalResourceCollection",
        &[
            opt("items", List(&Entity(&["Message"]))),
            opt("isPartOf", Entity(&["Forum"])),
        ],
    ),
    entity("Question", "DigitalResource", &[opt("questionPosed", Text)]),
    entity(
        "DateTimeQuestion",
        "Question",
        &[
            opt("minDateTime", DateTime),
            opt("minLabel", Text),
            opt("maxDateTime", DateTime),
            opt("maxLabel", Text),
        ],
    ),
    entity(
        "MultiselectQuestion",
        "Question",
        &[
            opt("points", Integer),
            opt("itemLabels", TEXTS),
            opt("itemValues", TEXTS),
        ],
    ),
    entity("OpenEndedQuestion", "Question", &[]),
    entity(
        "RatingScaleQuestion",
        "Question",
        &[opt("scale", Entity(&["Scale"]))],
    ),
    entity(
        "QuestionnaireItem",
        "DigitalResource",
        &[
            opt("question", Entity(&["Question"])),
            opt("categories", TEXTS),
            opt("weight", Number),
        ],
    ),
    entity(
        "SurveyInvitation",
        "DigitalResource",
        &[
            opt("rater", PERSON),
            opt("survey", Entity(&["Survey"])),
            opt("sentCount", Integer),
            opt("dateSent", DateTime),
        ],
    ),
    // Collections
    entity(
        "Collection",
        "Entity",
        &[
            opt("items", List(&Entity(&["Entity"]))),
            opt("isPartOf", Entity(&["Entity"])).only(Versions::V1P1),
        ],
    ),
    entity(
        "AggregateMeasureCollection",
        "Collection",
        &[opt("items", List(&Entity(&["AggregateMeasure"])))],
    ),
    entity(
        "Questionnaire",
        "Collection",
        &[opt("items", List(&Entity(&["QuestionnaireItem"])))],
    ),
    entity(
        "Survey",
        "Collection",
        &[opt("items", List(&Entity(&["Questionnaire"])))],
    ),
    // Annotations
    entity(
        "Annotation",
        "Entity",
        &[opt("annotator", PERSON), opt("annotated", DIGITAL_RESOURCE)],
    ),
    entity(
        "BookmarkAnnotation",
        "Annotation",
        &[opt("bookmarkNotes", Text)],
    ),
    entity(
        "HighlightAnnotation",
        "Annotation",
        &[
            opt("selection", Entity(&["TextPositionSelector"])),
            opt("selectionText", Text),
        ],
    ),
    entity(
        "SharedAnnotation",
        "Annotation",
        &[opt("withAgents", List(&AGENT))],
    ),
    entity("TagAnnotation", "Annotation", &[opt("tags", TEXTS)]),
    // Activity, outcomes and feedback
    entity(
        "Attempt",
        "Entity",
        &[
            // Caliper 1.1 says Person; the 1.2 schema widened it to any Agent.
            opt("assignee", PERSON).only(Versions::V1P1),
            opt("assignee", AGENT).only(Versions::V1P2),
            opt("assignable", DIGITAL_RESOURCE),
            opt("isPartOf", ATTEMPT),
            opt("count", Count),
            opt("startedAtTime", DateTime),
            opt("endedAtTime", DateTime),
            opt("duration", Duration),
        ],
    ),
    entity(
        "AggregateMeasure",
        "Entity",
        &[
            req("metric", Metric),
            // Often counts: any JSON number (the API's documented examples send 2, not 2.0).
            req("metricValue", Number),
            opt("maxMetricValue", Number),
            opt("startedAtTime", DateTime),
            opt("endedAtTime", DateTime),
            opt("isPartOf", Entity(&["Entity"])).only(Versions::V1P1),
        ],
    ),
    entity(
        "Response",
        "Entity",
        &[
            opt("attempt", ATTEMPT),
            opt("startedAtTime", DateTime),
            opt("endedAtTime", DateTime),
            opt("duration", Duration),
        ],
    ),
    entity(
        "DateTimeResponse",
        "Response",
        &[opt("dateTimeSelected", DateTime)],
    ),
    entity("FillinBlankResponse", "Response", RESPONSE_VALUES),
    entity("MultipleChoiceResponse", "Response", RESPONSE_VALUE),
    entity("MultipleResponseResponse", "Response", RESPONSE_VALUES),
    entity(
        "MultiselectResponse",
        "Response",
        &[opt("selections", TEXTS)],
    ),
    entity("OpenEndedResponse", "Response", RESPONSE_VALUE),
    entity(
        "RatingScaleResponse",
        "Response",
        &[opt("selections", TEXTS)],
    ),
    entity("SelectTextResponse", "Response", RESPONSE_VALUES),
    entity("TrueFalseResponse", "Response", RESPONSE_VALUE),
    entity(
        "Result",
        "Entity",
        &[
            opt("attempt", ATTEMPT),
            opt("maxResultScore", Number),
            opt("resultScore", Number),
            opt("scoredBy", AGENT),
            opt("comment", Text),
            opt("normalScore", Number),
            opt("penaltyScore", Number),
            opt("extraCreditScore", Number),
            opt("totalScore", Number),
            opt("curvedTotalScore", Number),
            opt("curveFactor", Number),
        ],
    ),
    entity(
        "Score",
        "Entity",
        &[
            opt("attempt", ATTEMPT),
            opt("maxScore", Number),
            opt("scoreGiven", Number),
            opt("scoredBy", AGENT),
            opt("comment", Text),
            // Added by the Timeback extension: the official client's graded-question events send it.
            opt("scoreType", Text).only(Versions::V1P2),
        ],
    ),
    entity(
        "Comment",
        "Entity",
        &[
            opt("commenter", PERSON),
            opt("commentedOn", Entity(&["Entity"])),
            opt("value", Text),
        ],
    ),
    entity(
        "Rating",
        "Entity",
        &[
            opt("rater", PERSON),
            opt("rated", Entity(&["Entity"])),
            opt("question", Entity(&["Question"])),
            opt("selections", TEXTS),
            opt("ratingComment", Entity(&["Comment"])),
            opt("scale", Entity(&["Scale"])),
        ],
    ),
    entity("Scale", "Entity", &[]),
    entity(
        "LikertScale",
        "Scale",
        &[
            opt("scalePoints", Integer),
            opt("itemLabels", TEXTS),
            opt("itemValues", TEXTS),
        ],
    ),
    entity(
        "MultiselectScale",
        "Scale",
        &[
            opt("scalePoints", Integer),
            opt("itemLabels", TEXTS),
            opt("itemValues", TEXTS),
            opt("isOrderedSelection", Boolean),
            opt("minSelections", Integer),
            opt("maxSelections", Integer),
        ],
    ),
    entity(
        "NumericScale",
        "Scale",
        &[
            opt("minValue", Number),
            opt("minLabel", Text),
            opt("maxValue", Number),
            opt("maxLabel", Text),
            opt("step", Number),
        ],
    ),
    // Context: learning objectives, links, memberships, sessions, search
    entity("LearningObjective", "Entity", &[]),
    entity(
        "Link",
        "Entity",
        &[opt("isPartOf", Entity(&["Entity"])).only(Versions::V1P1)],
    ),
    entity(
        "Membership",
        "Entity",
        &[
            opt("organization", Entity(&["Organization"])),
            // As Attempt's `assignee`.
            opt("member", PERSON).only(Versions::V1P1),
            opt("member", AGENT).only(Versions::V1P2),
            opt("roles", List(&Term(ROLES))),
            opt("status", Term(STATUSES)),
        ],
    ),
    entity(
        "Session",
        "Entity",
        &[
            opt("user", PERSON),
            opt("client", Entity(&["SoftwareApplication"])).only(Versions::V1P2),
            opt("startedAtTime", DateTime),
            opt("endedAtTime", DateTime),
            opt("duration", Duration),
        ],
    ),
    entity("LtiSession", "Session", &[opt("messageParameters", Map)]),
    entity(
        "Query",
        "Entity",
        &[
            opt("creator", PERSON),
            opt("searchTarget", Entity(&["Entity"])),
            opt("searchTerms", Text),
        ],
    ),
    entity(
        "SearchResponse",
        "Entity",
        &[
            opt("searchProvider", Entity(&["SoftwareApplication"])),
            opt("searchTarget", Entity(&["Entity"])),
            opt("query", Entity(&["Query"])),
            opt("searchResultsItemCount", Count),
            opt("searchResults", List(&Entity(&["Entity"]))),
        ],
    ),
    // Structured values (appendices D and E)
    value(
        "TextPositionSelector",
        &[req("type", Text), req("start", Count), req("end", Count)],
    ),
    // Caliper 1.2's `otherIdentifiers`.
    value(
        "SystemIdentifier",
        &[
            req("type", Text),
            req("identifier", Text),
            req("identifierType", Term(SYSTEM_IDENTIFIER_TYPES)),
            opt("source", Entity(&["SoftwareApplication"])),
            opt("extensions", Map),
        ],
    )
    .only(Versions::V1P2),
];
