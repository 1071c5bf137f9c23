use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use caliper_core::StoreError;

/// Error codes worth another try: throttling and passing service trouble.
const RETRYABLE: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
];

/// Error codes that refuse the request as it is (an item over 400 KB, say): no retry helps.
const INVALID: &[&str] = &["ValidationException"];

/// An SDK error as a store error, saying which call failed and why.
pub fn store_error<E, R>(call: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        other => other.code().is_some_and(|code| RETRYABLE.contains(&code)),
    };
    let detail = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string(),
    };
    let message = format!("{call} failed: {detail}");
    if retryable {
        StoreError::retryable(message)
    } else if error.code().is_some_and(|code| INVALID.contains(&code)) {
        StoreError::invalid(message)
    } else {
        StoreError::new(message)
    }
}
