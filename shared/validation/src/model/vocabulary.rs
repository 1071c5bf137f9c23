//! The controlled vocabularies of Caliper 1.1 and 1.2: actions, profiles, contexts and the
//! enumerated terms.

use super::{timeback, Version};

/// The JSON-LD context of Caliper 1.2: its `dataVersion` and its items' `@context`.
pub const CONTEXT_V1P2: &str = "http://purl.imsglobal.org/ctx/caliper/v1p2";

/// The JSON-LD context of Caliper 1.1.
pub const CONTEXT_V1P1: &str = "http://purl.imsglobal.org/ctx/caliper/v1p1";

/// The contexts of Caliper 1.1's profile extensions, which add the types 1.2 later took in (each
/// extends the 1.1 context, so an item may name one instead of it).
pub const CONTEXTS_V1P1_EXTENSIONS: &[&str] = &[
    "http://purl.imsglobal.org/ctx/caliper/v1p1/FeedbackProfile-extension",
    "http://purl.imsglobal.org/ctx/caliper/v1p1/ResourceManagementProfile-extension",
    "http://purl.imsglobal.org/ctx/caliper/v1p1/SearchProfile-extension",
    "http://purl.imsglobal.org/ctx/caliper/v1p1/SurveyProfile-extension",
    "http://purl.imsglobal.org/ctx/caliper/v1p1/ToolLaunchProfile-extension",
    "http://purl.imsglobal.org/ctx/caliper/v1p1/ToolUseProfile-extension",
];

/// The Caliper version whose context `iri` is, if it is one.
pub fn context_version(iri: &str) -> Option<Version> {
    match iri {
        CONTEXT_V1P2 => Some(Version::V1p2),
        CONTEXT_V1P1 => Some(Version::V1p1),
        _ if CONTEXTS_V1P1_EXTENSIONS.contains(&iri) => Some(Version::V1p1),
        _ => None,
    }
}

/// Appendix A: every action term.
pub const ACTIONS: &[&str] = &[
    "Abandoned",
    "Accepted",
    "Activated",
    "Added",
    "Archived",
    "Attached",
    "Bookmarked",
    "ChangedResolution",
    "ChangedSize",
    "ChangedSpeed",
    "ChangedVolume",
    "Classified",
    "ClosedPopout",
    "Commented",
    "Completed",
    "Copied",
    "Created",
    "Deactivated",
    "Declined",
    "Deleted",
    "Described",
    "DisabledClosedCaptioning",
    "Disliked",
    "Downloaded",
    "EnabledClosedCaptioning",
    "Ended",
    "EnteredFullScreen",
    "ExitedFullScreen",
    "ForwardedTo",
    "Graded",
    "Hid",
    "Highlighted",
    "Identified",
    "JumpedTo",
    "Launched",
    "Liked",
    "Linked",
    "LoggedIn",
    "LoggedOut",
    "MarkedAsRead",
    "MarkedAsUnread",
    "Modified",
    "Muted",
    "NavigatedTo",
    "OpenedPopout",
    "OptedIn",
    "OptedOut",
    "Paused",
    "Posted",
    "Printed",
    "Published",
    "Questioned",
    "Ranked",
    "Recommended",
    "Removed",
    "Reset",
    "Restarted",
    "Restored",
    "Resumed",
    "Retrieved",
    "Returned",
    "Reviewed",
    "Rewound",
    "Saved",
    "Searched",
    "Sent",
    "Shared",
    "Showed",
    "Skipped",
    "Started",
    "Submitted",
    "Subscribed",
    "Tagged",
    "TimedOut",
    "Unmuted",
    "Unpublished",
    "Unsubscribed",
    "Uploaded",
    "Used",
    "Viewed",
];

/// An action of Caliper or of a supported extension profile.
pub fn is_action(term: &str) -> bool {
    ACTIONS.contains(&term) || timeback::ACTIONS.contains(&term)
}

/// Section 3.0.1, plus the supported extension profiles.
pub const PROFILES: &[&str] = &[
    "AnnotationProfile",
    "AssessmentProfile",
    "AssignableProfile",
    "FeedbackProfile",
    "ForumProfile",
    "GeneralProfile",
    "GradingProfile",
    "MediaProfile",
    "ReadingProfile",
    "ResourceManagementProfile",
    "SearchProfile",
    "SessionProfile",
    "SurveyProfile",
    "ToolLaunchProfile",
    "ToolUseProfile",
    timeback::PROFILE,
];

/// The profile whose generic Event any event type may use.
pub const GENERAL_PROFILE: &str = "GeneralProfile";

/// Appendix F: LIS context roles and sub-roles.
pub const ROLES: &[&str] = &[
    "Administrator",
    "ContentDeveloper",
    "Instructor",
    "Learner",
    "Manager",
    "Member",
    "Mentor",
    "Officer",
    "Administrator#Administrator",
    "Administrator#Developer",
    "Administrator#ExternalDeveloper",
    "Administrator#ExternalSupport",
    "Administrator#ExternalSystemAdministrator",
    "Administrator#Support",
    "Administrator#SystemAdministrator",
    "ContentDeveloper#ContentDeveloper",
    "ContentDeveloper#ContentExpert",
    "ContentDeveloper#ExternalContentExpert",
    "ContentDeveloper#Librarian",
    "Instructor#ExternalInstructor",
    "Instructor#Grader",
    "Instructor#GuestInstructor",
    "Instructor#Instructor",
    "Instructor#Lecturer",
    "Instructor#PrimaryInstructor",
    "Instructor#SecondaryInstructor",
    "Instructor#TeachingAssistant",
    "Instructor#TeachingAssistantGroup",
    "Instructor#TeachingAssistantOffering",
    "Instructor#TeachingAssistantSection",
    "Instructor#TeachingAssistantTemplate",
    "Learner#ExternalLearner",
    "Learner#GuestLearner",
    "Learner#Learner",
    "Learner#NonCreditLearner",
    "Manager#AreaManager",
    "Manager#CourseCoordinator",
    "Manager#ExternalObserver",
    "Manager#Manager",
    "Manager#Observer",
    "Member#Member",
    "Mentor#Advisor",
    "Mentor#Auditor",
    "Mentor#ExternalAdvisor",
    "Mentor#ExternalAuditor",
    "Mentor#ExternalLearningFacilitator",
    "Mentor#ExternalMentor",
    "Mentor#ExternalReviewer",
    "Mentor#ExternalTutor",
    "Mentor#LearningFacilitator",
    "Mentor#Mentor",
    "Mentor#Reviewer",
    "Mentor#Tutor",
    "Officer#Chair",
    "Officer#Secretary",
    "Officer#Treasurer",
    "Officer#Vice-Chair",
];

/// Appendix G: membership status.
pub const STATUSES: &[&str] = &["Active", "Inactive"];

/// The metrics an AggregateMeasure can measure.
pub const METRICS: &[&str] = &[
    "AssessmentsPassed",
    "AssessmentsSubmitted",
    "MinutesOnTask",
    "SkillsMastered",
    "StandardsMastered",
    "UnitsCompleted",
    "UnitsPassed",
    "WordsRead",
];

/// Appendix E.2: system identifier types.
pub const SYSTEM_IDENTIFIER_TYPES: &[&str] = &[
    "AccountUserName",
    "CaseItemUri",
    "EmailAddress",
    "LisSourcedId",
    "LtiContextId",
    "LtiDeploymentId",
    "LtiPlatformId",
    "LtiToolId",
    "LtiUserId",
    "OneRosterSourcedId",
    "Other",
    "SisSourcedId",
    "SystemId",
];

/// The LTI 1.3 message types an LtiLink can carry.
pub const LTI_MESSAGE_TYPES: &[&str] = &["LtiResourceLinkRequest", "LtiDeepLinkingRequest"];
