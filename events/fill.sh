#!/usr/bin/env bash
# Writes target/events/job-status.json and target/events/process-events.json with a real job id
# (from a submit's answer) in place of the example's, so that they ask about, and process, that job.
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:?usage: events/fill.sh JOB_ID}
example=5f0c7a52-3c1e-4d7b-9a57-3f1d2b6c8e90
mkdir -p target/events
for name in job-status process-events; do
    sed "s/$example/$job/g" "events/$name.json" > "target/events/$name.json"
    echo "target/events/$name.json"
done
