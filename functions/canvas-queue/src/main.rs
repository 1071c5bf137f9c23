//! The SQS trigger of the queue Canvas writes its live events to (the template's optional
//! `CanvasQueue`): each message, an unsigned envelope, taken as the client the stack names, as a
//! connector's body is (what its policy refuses is quarantined). A message the stores cannot take
//! now returns to the queue after the job queue's backoff; after its last receive the queue's
//! redrive policy keeps it on Canvas's dead-letter queue.

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_aws::{Needs, Redelivery};
use caliper_core::clients::Settings;
use caliper_core::intake::{Intake, QueueIntake};
use caliper_core::{Records, Submitter};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[Needs::Queue, Needs::CanvasQueue]).await?;
    let ports = &aws.ports;
    let intake = Intake::new(
        Settings::new(Records::new(ports.records.clone())),
        Submitter::new(ports.jobs.clone(), ports.queue.clone()),
        ports.quarantine.clone(),
        caliper_runtime::settings::limits()?,
    );
    let client = aws
        .settings
        .canvas_client_app_id
        .clone()
        .unwrap_or_default();
    let consumer = QueueIntake::new(intake, &client, "canvas-queue");
    let redelivery: Redelivery = aws.redelivery(Needs::CanvasQueue)?;
    let max_receives = aws.settings.max_receives;
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (consumer, redelivery) = (&consumer, &redelivery);
        async move {
            let answer =
                caliper_aws::process_sqs_event(consumer, event.payload, max_receives, redelivery);
            Ok::<_, Error>(answer.await)
        }
    }))
    .await
}
