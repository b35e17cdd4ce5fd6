#!/usr/bin/env bash
# Wall time of a one-post republish of the example site against the AWS emulator, with an
# Auto Scaling group per release and `deploy: domain:` on (certificate, HTTPS, alias):
# starts moto_server and a docker-registry on loopback, publishes content/ once, edits
# one post, publishes again, and prints the second publish's steps and total.
#
#   bench/publish-emulator.sh [GALLEY]     (default: target/release/galley, else debug)
#   FRONT=cdn bench/publish-emulator.sh    (CloudFront in front instead of the domain)
#   FRONT=both bench/publish-emulator.sh   (CloudFront in front, on the domain)
set -euo pipefail
cd "$(dirname "$0")/.."
galley=${1:-}
if [ -z "$galley" ]; then
  for g in target/release/galley target/debug/galley; do
    [ -x "$g" ] && galley=$g && break
  done
fi
[ -x "${galley:-}" ] || { echo "build galley first (cargo build -p galley-cli)" >&2; exit 2; }
server=target/x86_64-unknown-linux-gnu/dist/galley-server
[ -x "$server" ] || { echo "run ./scripts/build-server first" >&2; exit 2; }

work=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port=$(port)
registry_port=$(port)
cleanup() { kill "${moto_pid:-}" "${registry_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

MOTO_ACM_VALIDATION_WAIT=0 MOTO_IAM_LOAD_MANAGED_POLICIES=true \
  moto_server -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto_pid=$!
cat > "$work/registry.yml" <<EOF
version: 0.1
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$registry_port}
EOF
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$moto_port/moto-api/data.json" >/dev/null 2>&1 &&
    curl -fs "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1 && break
  sleep 0.2
done

export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
  GALLEY_ECR_REGISTRY=127.0.0.1:$registry_port GALLEY_POLL_MS=200 \
  GALLEY_SERVER_BINARY=$server
python3 - <<'EOF'
import boto3, os
boto3.client("route53", region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_hosted_zone(
    Name="example.com", CallerReference="galley-bench")
EOF

cp -r content "$work/site"
sed -i 's/^  region: .*/  region: us-east-1/' "$work/site/_config.yml"
case "${FRONT:-domain}" in
  cdn) printf '  cdn: true\n' >> "$work/site/_config.yml" ;;
  both) printf '  cdn: true\n  domain: blog.example.com\n' >> "$work/site/_config.yml" ;;
  *) printf '  domain: blog.example.com\n' >> "$work/site/_config.yml" ;;
esac
"$galley" publish "$work/site" --insecure --json > "$work/first.json"
post=$(find "$work/site/_posts" -name '*.md' | sort | head -1)
printf '\nOne more line.\n' >> "$post"
start=$(date +%s.%N)
"$galley" publish "$work/site" --insecure --json > "$work/second.json"
end=$(date +%s.%N)
python3 - "$work/second.json" "$start" "$end" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
for step in report["steps"]:
    print(f'{step["step"]:<52} {step["seconds"]:6.2f} s')
print(f'{"total (the report)":<52} {report["seconds"]:6.2f} s')
print(f'{"wall (command start to exit)":<52} {float(sys.argv[3]) - float(sys.argv[2]):6.2f} s')
print("live:", report["url"])
print("invalidated:", report.get("invalidated"))
EOF
