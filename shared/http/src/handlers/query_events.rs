use std::collections::BTreeMap;

use caliper_core::query::date_bound;
use caliper_core::{EventFilter, EventKey, EventQuery, Order, Start};
use caliper_validation::{Problem, Version, CALIPER_V1P1, CALIPER_V1P2};
use lambda_http::http::StatusCode;
use lambda_http::{Request, RequestExt};
use serde_json::json;

use super::{unavailable, Answer, Call};
use crate::app::App;
use crate::caller::Caller;
use crate::cursor::{Cursor, Listing};
use crate::response::{ok, ApiError};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
const PARAMETERS: [&str; 11] = [
    "limit",
    "offset",
    "cursor",
    "order",
    "sensor",
    "actorId",
    "actorEmail",
    "startDate",
    "endDate",
    "dataVersion",
    "conformant",
];

/// GET `/caliper/events/{externalId}`: one event of the caller's (another client's of the same
/// Caliper id is another event, and answers 404 exactly like a missing one). An admin names the client with `?clientAppId=`, or
/// gets the one event of that id, or a 409 listing the clients that hold one.
pub async fn get_event(app: &App, call: &Call) -> Answer {
    let (request, caller) = (&call.request, call.caller()?);
    let external_id = call.param("externalId");
    let named = named_client(request)?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "Event not found");
    // The path may arrive percent-encoded (`urn%3Auuid%3A...`) or decoded: try both readings.
    let decoded = percent_encoding::percent_decode_str(external_id)
        .decode_utf8()
        .ok();
    let mut candidates = vec![external_id];
    if let Some(decoded) = decoded.as_deref().filter(|d| *d != external_id) {
        candidates.insert(0, decoded);
    }
    let events = &app.ports.events;
    for candidate in candidates {
        let client = match (&named, caller.is_admin()) {
            (Some(named), true) => named.clone(),
            (Some(named), false) if *named != caller.client_id => return Err(not_found()),
            (_, false) => caller.client_id.clone(),
            (None, true) => {
                let holders = events
                    .holders(candidate)
                    .await
                    .map_err(|e| unavailable(&e))?;
                match holders.as_slice() {
                    [] => continue,
                    [one] => one.clone(),
                    many => return Err(held_by_many(candidate, many)),
                }
            }
        };
        let event = events
            .get(&EventKey::new(client, candidate))
            .await
            .map_err(|e| unavailable(&e))?;
        if let Some(event) = event {
            return Ok(ok(&json!({ "event": event })));
        }
    }
    Err(not_found())
}

/// The `clientAppId` parameter of a single-event read, the only one it takes.
fn named_client(request: &Request) -> Result<Option<String>, ApiError> {
    let mut named = None;
    let mut problems = Vec::new();
    for (name, value) in request
        .query_string_parameters_ref()
        .into_iter()
        .flat_map(|q| q.iter())
    {
        match name {
            "clientAppId" if named.is_none() => named = Some(value.to_owned()),
            "clientAppId" => {
                problems.push(problem(name, "clientAppId is given twice; give it once"))
            }
            _ => problems.push(problem(
                name,
                format!("{name} is not a parameter of this route; it takes clientAppId (admins)"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(named)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "The query parameters are not valid",
        )
        .with_errors(problems))
    }
}

/// An admin's read of a Caliper id that several clients sent: which to read is theirs to say.
fn held_by_many(external_id: &str, clients: &[String]) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!(
            "{} clients hold an event of Caliper id {external_id}; name one with ?clientAppId=",
            clients.len()
        ),
    )
    .with_errors(
        clients
            .iter()
            .map(|client| {
                problem(
                    "clientAppId",
                    format!("client {client} holds an event of this id: add ?clientAppId={client}"),
                )
            })
            .collect(),
    )
}

/// What a listing request asks for, once its parameters are read.
struct ListRequest {
    query: EventQuery,
    limit: usize,
    offset: u64,
    cursor: Option<Cursor>,
    /// The cursor as given, for its signature.
    cursor_text: Option<String>,
}

/// GET `/caliper/events`: a page of the caller's events (an admin's: everyone's).
pub async fn list_events(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let asked = read_parameters(&call.request, caller)?;
    if let Some(text) = &asked.cursor_text {
        let signer = &*app.ports.signer;
        let issued = Cursor::verify(text, &caller.client_id, signer)
            .await
            .map_err(|e| unavailable(&e))?;
        if !issued {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "The query parameters are not valid",
            )
            .with_errors(vec![problem("cursor", NOT_ISSUED)]));
        }
    }
    let reader = &app.ports.reader;
    // A cursor carries the first page's count: later pages cost only themselves. Otherwise the
    // count and the page are independent reads, made at once.
    let (total, page_number, page) =
        match asked.cursor.as_ref().and_then(|c| Some((c, c.position()?))) {
            Some((cursor, after)) => {
                let start = Start::After(after);
                let page = reader.list(&asked.query, &start, asked.limit).await;
                (cursor.total, cursor.page + 1, page)
            }
            None => {
                let start = Start::Offset(asked.offset);
                let (total, page) = futures::join!(
                    reader.count(&asked.query),
                    reader.list(&asked.query, &start, asked.limit)
                );
                let total = total.map_err(|e| unavailable(&e))?;
                (total, asked.offset / asked.limit as u64 + 1, page)
            }
        };
    let page = page.map_err(|e| unavailable(&e))?;
    let next_cursor = match page.events.last().filter(|_| page.more) {
        None => None,
        Some(last) => {
            let cursor = Cursor {
                after: caliper_core::Position::of(last).key(),
                total,
                page: page_number,
                listing: Listing::of(&asked.query.filter, asked.query.order),
            };
            let sealed = cursor.seal(&caller.client_id, &*app.ports.signer).await;
            Some(sealed.map_err(|e| unavailable(&e))?)
        }
    };
    Ok(ok(&json!({
        "events": page.events,
        "pagination": {
            "total": total,
            "totalPages": total.div_ceil(asked.limit as u64),
            "currentPage": page_number,
            "limit": asked.limit,
        },
        "nextCursor": next_cursor,
    })))
}

const NOT_ISSUED: &str = "cursor is not one this API issued to this client, or it was changed; pass the nextCursor of a previous page unchanged";

fn problem(name: &str, message: impl Into<String>) -> Problem {
    Problem::new(format!("/query/{name}"), message)
}

/// Reads and checks every query parameter, reporting each problem with the parameter's path.
fn read_parameters(request: &Request, caller: &Caller) -> Result<ListRequest, ApiError> {
    let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in request
        .query_string_parameters_ref()
        .into_iter()
        .flat_map(|q| q.iter())
    {
        given
            .entry(name.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    let mut problems = Vec::new();
    let mut one = |name: &str| -> Option<String> {
        let values = given.remove(name)?;
        if values.len() > 1 {
            problems.push(problem(
                name,
                format!("{name} is given {} times; give it once", values.len()),
            ));
        }
        values.into_iter().next()
    };
    let limit = one("limit");
    let offset = one("offset");
    let cursor = one("cursor");
    let order = one("order");
    let sensor = one("sensor");
    let actor_id = one("actorId");
    let actor_email = one("actorEmail");
    let start_date = one("startDate");
    let end_date = one("endDate");
    let data_version = one("dataVersion");
    let conformant = one("conformant");
    for name in given.keys() {
        problems.push(problem(
            name,
            format!(
                "{name} is not a parameter of this route; it takes {}",
                PARAMETERS.join(", ")
            ),
        ));
    }

    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                problems.push(problem(
                    "limit",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}, found {v:?}"),
                ));
                DEFAULT_LIMIT
            }
        },
    };
    let offset = match offset {
        None => 0,
        Some(v) => v.parse::<u64>().unwrap_or_else(|_| {
            problems.push(problem(
                "offset",
                format!("offset must be a whole number, 0 or more, found {v:?}"),
            ));
            0
        }),
    };
    let order = match order.as_deref() {
        None | Some("desc") => Order::NewestFirst,
        Some("asc") => Order::OldestFirst,
        Some(other) => {
            problems.push(problem("order", format!("order must be \"asc\" (oldest first) or \"desc\" (newest first, the default), found {other:?}")));
            Order::NewestFirst
        }
    };
    let mut non_empty = |name: &str, value: Option<String>| {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            problems.push(problem(
                name,
                format!("{name} is empty; leave it out to list without it"),
            ));
            return None;
        }
        value
    };
    let sensor = non_empty("sensor", sensor);
    let actor_id = non_empty("actorId", actor_id);
    let actor_email = non_empty("actorEmail", actor_email);
    let mut date = |name: &str, value: Option<String>, end: bool| {
        let value = value?;
        let bound = date_bound(&value, end);
        if bound.is_none() {
            problems.push(problem(name, format!("{name} must be a date (2024-05-01) or a date-time (2024-05-01T12:00:00Z), found {value:?}")));
        }
        bound
    };
    let from = date("startDate", start_date, false);
    let until = date("endDate", end_date, true);
    if let (Some(from), Some(until)) = (&from, &until) {
        if from > until {
            problems.push(problem(
                "endDate",
                "endDate is before startDate; no event could match",
            ));
        }
    }

    let data_version = data_version.and_then(|v| match Version::from_context(&v) {
        Some(version) => Some(version.context().to_owned()),
        None => {
            problems.push(problem(
                "dataVersion",
                format!("dataVersion must be {CALIPER_V1P2:?} (Caliper 1.2) or {CALIPER_V1P1:?} (Caliper 1.1), as the envelopes said, found {v:?}"),
            ));
            None
        }
    });

    let conformant = match conformant.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            problems.push(problem("conformant", format!("conformant must be \"true\" (events without problems) or \"false\" (a flag client's events stored with problems), found {other:?}")));
            None
        }
    };

    let filter = EventFilter {
        sensor,
        actor_id,
        actor_email,
        from,
        until,
        data_version,
        conformant,
    };
    let cursor_text = cursor.clone();
    let cursor = match cursor {
        None => None,
        Some(text) => match Cursor::decode(&text) {
            None => {
                problems.push(problem("cursor", NOT_ISSUED));
                None
            }
            Some(cursor) if cursor.listing != Listing::of(&filter, order) => {
                problems.push(problem("cursor", "cursor continues a listing with other parameters; repeat the sensor, actorId, actorEmail, startDate, endDate, dataVersion, conformant and order of its first page"));
                None
            }
            Some(cursor) => Some(cursor),
        },
    };
    if cursor.is_some() && offset != 0 {
        problems.push(problem(
            "offset",
            "offset and cursor cannot be combined; a cursor already says where the page begins",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "The query parameters are not valid",
        )
        .with_errors(problems));
    }

    Ok(ListRequest {
        query: EventQuery {
            visibility: caller.visibility(),
            filter,
            order,
        },
        limit,
        offset,
        cursor,
        cursor_text,
    })
}
