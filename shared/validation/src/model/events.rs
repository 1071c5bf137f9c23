//! Appendix B of Caliper 1.1 and 1.2 and the 1.2 certification guide's conformance tables: every
//! event type, the profiles that define it, its actions, and the entities each action takes; an
//! event type one version defines differently is written once per version.

use super::vocabulary::ACTIONS;
use super::Kind::Entity;
use super::{opt, ActionRule, EventType, Versions};

const PERSON: &[&str] = &["Person"];
const DIGITAL_RESOURCE: &[&str] = &["DigitalResource"];
const RESOURCE_OR_APP: &[&str] = &["DigitalResource", "SoftwareApplication"];
const FRAME: &[&str] = &["Frame"];

/// A rule whose generated entity, if any, is unconstrained.
const fn acts(
    actions: &'static [&'static str],
    actor: &'static [&'static str],
    object: &'static [&'static str],
) -> ActionRule {
    generates(actions, actor, object, &[])
}

/// A rule that names the entity the action generates.
const fn generates(
    actions: &'static [&'static str],
    actor: &'static [&'static str],
    object: &'static [&'static str],
    generated: &'static [&'static str],
) -> ActionRule {
    ActionRule {
        actions,
        actor,
        object,
        generated,
        requires: &[],
    }
}

const fn event(
    name: &'static str,
    profiles: &'static [&'static str],
    rules: &'static [ActionRule],
) -> EventType {
    EventType {
        name,
        profiles,
        rules,
        target: &[],
        referrer: &[],
        properties: &[],
        custom_metrics: false,
        versions: Versions::BOTH,
    }
}

pub const ALL: &[EventType] = &[
    event(
        "Event",
        &["GeneralProfile"],
        &[acts(ACTIONS, &["Agent"], &["Entity"])],
    ),
    EventType {
        target: FRAME,
        ..event(
            "AnnotationEvent",
            &["AnnotationProfile"],
            &[generates(
                &["Bookmarked", "Highlighted", "Shared", "Tagged"],
                PERSON,
                DIGITAL_RESOURCE,
                &["Annotation"],
            )],
        )
    },
    event(
        "AssessmentEvent",
        &["AssessmentProfile"],
        &[generates(
            &[
                "Started",
                "Paused",
                "Resumed",
                "Restarted",
                "Reset",
                "Submitted",
            ],
            PERSON,
            &["Assessment"],
            &["Attempt"],
        )],
    ),
    EventType {
        referrer: &["AssessmentItem"],
        ..event(
            "AssessmentItemEvent",
            &["AssessmentProfile"],
            &[
                generates(
                    &["Started", "Skipped"],
                    PERSON,
                    &["AssessmentItem"],
                    &["Attempt"],
                ),
                generates(&["Completed"], PERSON, &["AssessmentItem"], &["Response"]),
            ],
        )
    },
    EventType {
        target: FRAME,
        ..event(
            "AssignableEvent",
            &["AssignableProfile"],
            &[generates(
                &[
                    "Activated",
                    "Deactivated",
                    "Started",
                    "Completed",
                    "Submitted",
                    "Reviewed",
                ],
                PERSON,
                &["AssignableDigitalResource"],
                &["Attempt"],
            )],
        )
    },
    // Feedback is given on a Frame of the object, when on a part of it (Caliper 1.2's
    // FeedbackEvent table; the draft text here has no FeedbackEvent section).
    EventType {
        target: FRAME,
        ..event(
            "FeedbackEvent",
            &["FeedbackProfile"],
            &[
                generates(&["Commented"], PERSON, &["Entity"], &["Comment"]),
                generates(&["Ranked"], PERSON, &["Entity"], &["Rating"]),
            ],
        )
    },
    event(
        "ForumEvent",
        &["ForumProfile"],
        &[acts(&["Subscribed", "Unsubscribed"], PERSON, &["Forum"])],
    ),
    event(
        "GradeEvent",
        &["GradingProfile"],
        &[generates(&["Graded"], &["Agent"], &["Attempt"], &["Score"])],
    ),
    EventType {
        target: &["MediaLocation"],
        ..event(
            "MediaEvent",
            &["MediaProfile"],
            &[acts(
                &[
                    "Started",
                    "Ended",
                    "Paused",
                    "Resumed",
                    "Restarted",
                    "ForwardedTo",
                    "JumpedTo",
                    "ChangedResolution",
                    "ChangedSize",
                    "ChangedSpeed",
                    "ChangedVolume",
                    "EnabledClosedCaptioning",
                    "DisabledClosedCaptioning",
                    "EnteredFullScreen",
                    "ExitedFullScreen",
                    "Muted",
                    "Unmuted",
                    "OpenedPopout",
                    "ClosedPopout",
                ],
                PERSON,
                &["MediaObject"],
            )],
        )
    },
    event(
        "MessageEvent",
        &["ForumProfile"],
        &[acts(
            &["Posted", "MarkedAsRead", "MarkedAsUnread"],
            PERSON,
            &["Message"],
        )],
    ),
    NAVIGATION.only(Versions::V1P2),
    // Caliper 1.2 widened the target from a Frame to any DigitalResource.
    EventType {
        target: FRAME,
        ..NAVIGATION
    }
    .only(Versions::V1P1),
    event(
        "QuestionnaireEvent",
        &["SurveyProfile"],
        &[generates(
            &["Started", "Submitted"],
            PERSON,
            &["Questionnaire"],
            &["Attempt"],
        )],
    ),
    event(
        "QuestionnaireItemEvent",
        &["SurveyProfile"],
        &[
            generates(
                &["Started", "Skipped"],
                PERSON,
                &["QuestionnaireItem"],
                &["Attempt"],
            ),
            generates(
                &["Completed"],
                PERSON,
                &["QuestionnaireItem"],
                &["Response"],
            ),
        ],
    ),
    event(
        "ResourceManagementEvent",
        &["ResourceManagementProfile"],
        &[generates(
            &[
                "Archived",
                "Copied",
                "Created",
                "Deleted",
                "Described",
                "Downloaded",
                "Modified",
                "Printed",
                "Published",
                "Restored",
                "Retrieved",
                "Saved",
                "Unpublished",
                "Uploaded",
            ],
            PERSON,
            DIGITAL_RESOURCE,
            DIGITAL_RESOURCE,
        )],
    ),
    event(
        "SearchEvent",
        &["SearchProfile"],
        &[generates(
            &["Searched"],
            PERSON,
            &["Entity"],
            &["SearchResponse"],
        )],
    ),
    // Deprecated by Caliper 1.1 (replaced by GradeEvent) and gone from 1.2.
    event(
        "OutcomeEvent",
        &["GradingProfile"],
        &[generates(
            &["Graded"],
            &["Agent"],
            &["Attempt"],
            &["Result"],
        )],
    )
    .only(Versions::V1P1),
    // Deprecated by Caliper 1.1 and gone from 1.2.
    EventType {
        target: &["Frame"],
        ..event(
            "ReadingEvent",
            &["ReadingProfile"],
            &[acts(
                &["NavigatedTo", "Searched", "Viewed"],
                PERSON,
                DIGITAL_RESOURCE,
            )],
        )
    }
    .only(Versions::V1P1),
    EventType {
        target: DIGITAL_RESOURCE,
        referrer: RESOURCE_OR_APP,
        ..event(
            "SessionEvent",
            &["SessionProfile"],
            &[
                acts(&["LoggedIn", "LoggedOut"], PERSON, &["SoftwareApplication"]),
                acts(&["TimedOut"], &["SoftwareApplication"], &["Session"]),
            ],
        )
    },
    event(
        "SurveyEvent",
        &["SurveyProfile"],
        &[acts(&["OptedIn", "OptedOut"], PERSON, &["Survey"])],
    ),
    event(
        "SurveyInvitationEvent",
        &["SurveyProfile"],
        &[acts(
            &["Accepted", "Declined", "Sent"],
            PERSON,
            &["SurveyInvitation"],
        )],
    ),
    event(
        "ThreadEvent",
        &["ForumProfile"],
        &[acts(
            &["MarkedAsRead", "MarkedAsUnread"],
            PERSON,
            &["Thread"],
        )],
    ),
    // The launching link (the ToolLaunch extension defines Link and LtiLink for it); what a
    // launch generates is a DigitalResource, and a launch happens in the platform's LtiSession,
    // which a Launched event names (Caliper 1.2's ToolLaunchEvent table; not in the draft text).
    EventType {
        target: &["Link", "LtiLink"],
        ..event(
            "ToolLaunchEvent",
            &["ToolLaunchProfile"],
            &[
                ActionRule {
                    requires: &["federatedSession"],
                    ..generates(
                        &["Launched"],
                        PERSON,
                        &["SoftwareApplication"],
                        DIGITAL_RESOURCE,
                    )
                },
                generates(
                    &["Returned"],
                    PERSON,
                    &["SoftwareApplication"],
                    DIGITAL_RESOURCE,
                ),
            ],
        )
    },
    TOOL_USE.only(Versions::V1P2),
    // Caliper 1.1 says no more of what a ToolUseEvent generates than that it is an entity.
    EventType {
        rules: &[acts(&["Used"], PERSON, &["SoftwareApplication"])],
        ..TOOL_USE
    }
    .only(Versions::V1P1),
    EventType {
        target: FRAME,
        ..event(
            "ViewEvent",
            &[
                "AssessmentProfile",
                "AssignableProfile",
                "ForumProfile",
                "GradingProfile",
                "MediaProfile",
                "ReadingProfile",
                "SurveyProfile",
            ],
            // The Grading profile lets any agent view a Result, the Survey profile a Questionnaire.
            &[acts(
                &["Viewed"],
                &["Agent"],
                &["DigitalResource", "Result", "Questionnaire"],
            )],
        )
    },
];

/// NavigationEvent as Caliper 1.2 defines it.
const NAVIGATION: EventType = EventType {
    target: DIGITAL_RESOURCE,
    referrer: RESOURCE_OR_APP,
    properties: &[opt("navigatedFrom", Entity(RESOURCE_OR_APP))],
    ..event(
        "NavigationEvent",
        &[
            "AssessmentProfile",
            "AssignableProfile",
            "ForumProfile",
            "MediaProfile",
            "ReadingProfile",
            "SurveyProfile",
        ],
        // The Survey profile navigates to Questionnaires.
        &[acts(
            &["NavigatedTo"],
            PERSON,
            &["DigitalResource", "SoftwareApplication", "Questionnaire"],
        )],
    )
};

/// ToolUseEvent as Caliper 1.2 defines it.
const TOOL_USE: EventType = EventType {
    target: &["SoftwareApplication"],
    // The API's documented example "Tool Use Generated Metrics" reports metrics such as
    // "Facts Learnt" that are not Caliper terms.
    custom_metrics: true,
    ..event(
        "ToolUseEvent",
        &["ToolUseProfile"],
        &[generates(
            &["Used"],
            PERSON,
            &["SoftwareApplication"],
            &["AggregateMeasureCollection"],
        )],
    )
};
