//! Stored events as both stores keep them: their JSON, zstd-compressed with a dictionary of what
//! Caliper events are made of (the stored event's own fields, the specification's contexts, types,
//! actions, roles and common properties). An event of a kilobyte has too little of its own text for
//! zstd to find much to refer back to; the dictionary gives it that text up front.
//!
//! What a stored document begins with says how to read it, so older ones read without a migration:
//! `{` plain JSON (written before compression), zstd's magic number a frame without a dictionary
//! (written before the dictionary), [`DICTIONARY_V1`]'s tag a frame made with it. The dictionary is
//! part of the stored format: it never changes; a better one is a new tag beside it.

use std::cell::RefCell;

/// What begins a document compressed with [`DICTIONARY`] (the dictionary's version).
pub const DICTIONARY_V1: u8 = 1;

/// zstd's level: 3, as measured for these small documents (`cargo bench -p caliper-embedded
/// --bench compression`: level 1 is hardly faster, 6 and above keep little more at twice the time).
const LEVEL: i32 = 3;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static WITH_DICTIONARY: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
    static WITHOUT: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// `json`, packed: the tag, then a zstd frame made with the dictionary.
pub fn pack(json: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match cell.as_mut() {
            Some(compressor) => compressor,
            None => cell.insert(zstd::bulk::Compressor::with_dictionary(
                LEVEL,
                DICTIONARY.as_bytes(),
            )?),
        };
        let frame = compressor.compress(json)?;
        let mut packed = Vec::with_capacity(frame.len() + 1);
        packed.push(DICTIONARY_V1);
        packed.extend_from_slice(&frame);
        Ok(packed)
    })
}

/// The JSON of a document [`pack`] made, or of a zstd frame made without a dictionary (as documents
/// were before it); at most `largest` bytes of it. Plain JSON is the caller's to recognise.
pub fn unpack(packed: &[u8], largest: usize) -> std::io::Result<Vec<u8>> {
    match packed.split_first() {
        Some((&DICTIONARY_V1, frame)) => decompress(&WITH_DICTIONARY, frame, largest, true),
        _ => decompress(&WITHOUT, packed, largest, false),
    }
}

type Cell = std::thread::LocalKey<RefCell<Option<zstd::bulk::Decompressor<'static>>>>;

fn decompress(
    cell: &'static Cell,
    frame: &[u8],
    largest: usize,
    dictionary: bool,
) -> std::io::Result<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .map_or(largest, |n| usize::try_from(n).unwrap_or(usize::MAX));
    if size > largest {
        return Err(std::io::Error::other(format!(
            "a stored document of {size} bytes, more than the {largest} any is written with"
        )));
    }
    cell.with(|cell| {
        let mut cell = cell.borrow_mut();
        let decompressor = match cell.as_mut() {
            Some(decompressor) => decompressor,
            None if dictionary => cell.insert(zstd::bulk::Decompressor::with_dictionary(
                DICTIONARY.as_bytes(),
            )?),
            None => cell.insert(zstd::bulk::Decompressor::new()?),
        };
        decompressor.decompress(frame, size)
    })
}

/// The dictionary (zstd's raw content kind: text the compressor may refer back to), frozen with
/// [`DICTIONARY_V1`]. Fragments of stored events as serde_json writes them: the entities' keys in
/// order, the stored event's fields in its struct's order, the most common last (nearest, so the
/// cheapest to refer to).
pub const DICTIONARY: &str = concat!(
    // Actions and types met less often.
    "Abandoned Accepted Activated Added Archived Attached Bookmarked ChangedResolution ChangedSize ",
    "ChangedSpeed ChangedVolume Classified ClosedPopout Commented Copied Created Deactivated Declined ",
    "Deleted Described DisabledClosedCaptioning Disliked Downloaded EnabledClosedCaptioning Ended ",
    "EnteredFullScreen ExitedFullScreen ForwardedTo Graded Hid Highlighted Identified JumpedTo Launched ",
    "Liked Linked LoggedIn LoggedOut MarkedAsRead MarkedAsUnread Modified Muted NavigatedTo OpenedPopout ",
    "OptedIn OptedOut Paused Posted Printed Published Questioned Ranked Recommended Removed Reset ",
    "Restarted Restored Resumed Retrieved Returned Reviewed Rewound Saved Searched Sent Shared Showed ",
    "Skipped Started Submitted Subscribed Tagged TimedOut Unmuted Unpublished Unsubscribed Uploaded Used ",
    "Viewed ",
    "AnnotationEvent AssignableEvent FeedbackEvent ForumEvent MessageEvent QuestionnaireEvent ",
    "QuestionnaireItemEvent ResourceManagementEvent SearchEvent SurveyEvent SurveyInvitationEvent ",
    "ThreadEvent ToolLaunchEvent MediaEvent ReadingEvent OutcomeEvent ",
    "\"type\":\"BookmarkAnnotation\"", "\"type\":\"HighlightAnnotation\"", "\"type\":\"SharedAnnotation\"",
    "\"type\":\"TagAnnotation\"", "\"type\":\"Rating\"", "\"type\":\"Comment\"", "\"type\":\"Forum\"",
    "\"type\":\"Thread\"", "\"type\":\"Message\"", "\"type\":\"Query\"", "\"type\":\"SearchResponse\"",
    "\"type\":\"Questionnaire\"", "\"type\":\"QuestionnaireItem\"", "\"type\":\"Survey\"",
    "\"type\":\"Chapter\"", "\"type\":\"Document\"", "\"type\":\"Frame\"", "\"type\":\"Page\"",
    "\"type\":\"Collection\"", "\"type\":\"AudioObject\"", "\"type\":\"ImageObject\"",
    "\"type\":\"VideoObject\"", "\"type\":\"MediaLocation\"", "\"type\":\"AssignableDigitalResource\"",
    "\"type\":\"Group\"", "\"type\":\"Organization\"", "\"type\":\"CourseOffering\"",
    "\"type\":\"LtiLink\"", "\"type\":\"LtiSession\"", "\"type\":\"Link\"", "\"type\":\"Result\"",
    "\"type\":\"FillinBlankResponse\"", "\"type\":\"MultipleChoiceResponse\"",
    "\"type\":\"MultipleResponseResponse\"", "\"type\":\"SelectTextResponse\"",
    "\"type\":\"TrueFalseResponse\"", "\"type\":\"Response\"",
    "\"roles\":[\"Instructor\"]", "\"roles\":[\"Administrator\"]", "\"roles\":[\"Mentor\"]",
    "\"roles\":[\"TeachingAssistant\"]",
    // Properties of entities, as keys.
    "\"academicSession\":\"", "\"assignable\":{\"id\":\"https://", "\"assignee\":{\"id\":\"https://",
    "\"attempt\":{\"id\":\"https://", "\"body\":\"", "\"client\":{\"id\":\"", "\"count\":1,",
    "\"courseNumber\":\"", "\"creators\":[{\"id\":\"https://", "\"currentTime\":\"PT",
    "\"dateCreated\":\"20", "\"dateModified\":\"20", "\"datePublished\":\"20",
    "\"dateToActivate\":\"20", "\"dateToShow\":\"20", "\"dateToStartOn\":\"20", "\"dateToSubmit\":\"20",
    "\"description\":\"", "\"duration\":\"PT", "\"endedAtTime\":\"20", "\"isPartOf\":{\"id\":\"https://",
    "\"keywords\":[\"", "\"maxAttempts\":", "\"maxScore\":", "\"maxSubmits\":", "\"mediaType\":\"",
    "\"member\":{\"id\":\"https://", "\"name\":\"", "\"organization\":{\"id\":\"https://",
    "\"scoreGiven\":", "\"scoredBy\":{\"id\":\"https://", "\"startedAtTime\":\"20",
    "\"subOrganizationOf\":{\"id\":\"https://", "\"user\":{\"id\":\"https://", "\"version\":\"",
    "\"navigatedFrom\":{\"id\":\"https://", "\"values\":[\"", "\"comment\":\"", "\"score\":{",
    "\"otherIdentifiers\":[{", "\"identifier\":\"", "\"identifierType\":\"", "\"source\":{",
    "\"sourcedId\":\"", "\"title\":\"", "\"url\":\"https://", "\"text\":\"",
    // Timeback's vocabulary.
    "\"type\":\"TimebackUser\"", "\"type\":\"TimebackActivityContext\"",
    "\"type\":\"TimebackActivityMetricsCollection\"", "\"type\":\"TimebackTimeSpentMetricsCollection\"",
    "\"items\":[{\"type\":\"xpEarned\",\"value\":", "{\"type\":\"totalQuestions\",\"value\":",
    "{\"type\":\"correctQuestions\",\"value\":", "{\"type\":\"masteredUnits\",\"value\":",
    "\"subType\":\"", "\"email\":\"", "\"role\":\"student\"", "\"role\":\"teacher\"", "\"subject\":\"",
    "\"app\":{\"id\":\"https://", "\"activity\":{\"id\":\"https://", "\"course\":{\"id\":\"https://",
    "\"component\":{\"id\":\"https://", "\"process\":", "ActivityEvent\",\"profile\":\"TimebackProfile\"",
    "TimeSpentEvent\",\"profile\":\"TimebackProfile\"",
    // Caliper 1.1's contexts.
    "\"@context\":\"http://purl.imsglobal.org/ctx/caliper/v1p1\",",
    "\"dataVersion\":\"http://purl.imsglobal.org/ctx/caliper/v1p1\",",
    // The entities met in most events, keys in order.
    "\"type\":\"Assessment\"}", "\"type\":\"AssessmentItem\"}", "\"type\":\"Attempt\"}",
    "\"type\":\"Score\"}", "\"type\":\"WebPage\"}", "\"type\":\"DigitalResource\"}",
    "\"type\":\"Person\"}", "\"type\":\"SoftwareApplication\"}",
    "\"roles\":[\"Learner\"],\"status\":\"Active\",\"type\":\"Membership\"}",
    "\"type\":\"CourseSection\"}", "\"type\":\"Session\"}",
    "{\"@context\":\"http://purl.imsglobal.org/ctx/caliper/v1p2\",\"id\":\"urn:uuid:",
    // The stored event's fields, in order.
    "{\"id\":",
    ",\"externalId\":\"urn:uuid:",
    "\",\"sensor\":\"https://",
    "\",\"type\":\"AssessmentItemEvent\",\"profile\":\"AssessmentProfile\",\"action\":\"Completed\"",
    "\",\"type\":\"AssessmentEvent\",\"profile\":\"AssessmentProfile\",\"action\":\"Started\"",
    "\",\"type\":\"GradeEvent\",\"profile\":\"GradingProfile\",\"action\":\"Graded\"",
    "\",\"type\":\"SessionEvent\",\"profile\":\"SessionProfile\",\"action\":\"LoggedIn\"",
    "\",\"type\":\"ToolUseEvent\",\"profile\":\"ToolUseProfile\",\"action\":\"Used\"",
    "\",\"type\":\"ViewEvent\",\"profile\":\"ReadingProfile\",\"action\":\"Viewed\"",
    "\",\"type\":\"NavigationEvent\",\"profile\":\"GeneralProfile\",\"action\":\"NavigatedTo\"",
    "\",\"type\":\"Event\",\"profile\":null,\"action\":\"",
    "\",\"eventTime\":\"20",
    ".000Z\",\"sendTime\":\"20",
    "\",\"dataVersion\":\"http://purl.imsglobal.org/ctx/caliper/v1p2\",\"created_at\":\"20",
    "\",\"updated_at\":\"20",
    "\",\"deleted_at\":null,\"actor\":{\"id\":\"https://",
    "\"},\"object\":{\"id\":\"https://",
    "},\"generated\":null,\"target\":null,\"referrer\":null,\"edApp\":{\"id\":\"https://",
    "},\"generated\":{\"id\":\"https://",
    "},\"target\":{\"id\":\"https://",
    "},\"referrer\":{\"id\":\"https://",
    "\"type\":\"SoftwareApplication\"},\"group\":{\"id\":\"https://",
    "},\"membership\":{\"id\":\"https://",
    "},\"session\":{\"id\":\"https://",
    "},\"federatedSession\":null,\"extensions\":null,\"clientAppId\":\"",
    "},\"federatedSession\":null,\"extensions\":{",
    "},\"clientAppId\":\"",
);

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_event(n: u32) -> Vec<u8> {
        format!(
            concat!(
                r#"{{"id":{n},"externalId":"urn:uuid:0f6d8e1a-9c1b-4a6e-8d1e-{n:012}","#,
                r#""sensor":"https://example.edu/sensors/1","type":"ToolUseEvent","#,
                r#""profile":"ToolUseProfile","action":"Used","eventTime":"2026-12-07T10:00:00.000Z","#,
                r#""actor":{{"id":"https://example.edu/users/{n}","type":"Person"}},"#,
                r#""object":{{"id":"https://example.edu/apps/1","type":"SoftwareApplication"}},"#,
                r#""clientAppId":"client-1"}}"#
            ),
            n = n
        )
        .into_bytes()
    }

    #[test]
    fn a_packed_document_unpacks_to_its_json() {
        let json = stored_event(7);
        let packed = pack(&json).expect("pack");
        assert_eq!(packed.first(), Some(&DICTIONARY_V1));
        assert_eq!(unpack(&packed, 1 << 20).expect("unpack"), json);
    }

    /// Documents written before the dictionary (a bare zstd frame) still read.
    #[test]
    fn a_frame_without_the_dictionary_still_unpacks() {
        let json = stored_event(8);
        let frame = zstd::bulk::compress(&json, 3).expect("compress");
        assert_eq!(unpack(&frame, 1 << 20).expect("unpack"), json);
    }

    /// The dictionary is what makes an event small: without it the same event takes more.
    #[test]
    fn the_dictionary_shrinks_an_event() {
        let json = stored_event(9);
        let with = pack(&json).expect("pack").len();
        let without = zstd::bulk::compress(&json, 3).expect("compress").len();
        assert!(
            with < without * 3 / 4,
            "{with} bytes with it, {without} without"
        );
    }

    #[test]
    fn a_document_larger_than_allowed_is_refused() {
        let json = stored_event(10);
        let packed = pack(&json).expect("pack");
        assert!(unpack(&packed, json.len() - 1).is_err());
    }

    /// The dictionary is part of the stored format: a change would leave every document written
    /// with it unreadable. Its digest pins it; a new dictionary takes a new tag.
    #[test]
    fn the_dictionary_never_changes() {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(DICTIONARY.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "bb9a5bf868632ea737e03e8a82d6bb8b6ade8d85610add62713c5a19502d865b"
        );
    }
}
