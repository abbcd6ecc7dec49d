#!/usr/bin/env bash
# Load the benchmark catalog into GAVO DaCHS (PostgreSQL + pgsphere) for the side-by-side
# comparison in benchmarks/bench_tap.py. Run as root on a Debian bookworm machine, from the
# repository root, after `python benchmarks/bench_tap.py` has built the 1M-row catalog.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# gavodachs2-server's post-install script needs a running PostgreSQL (no systemd here)
command -v pg_ctlcluster >/dev/null || apt-get install -y -qq postgresql
pg_ctlcluster 15 main start || true
command -v dachs >/dev/null || apt-get install -y -qq gavodachs2-server
PYTHONPATH=. python benchmarks/bench_tap.py --export-csv /tmp/dachs-vac.csv
mkdir -p /var/gavo/inputs/specirbench
cp benchmarks/dachs/q.rd /var/gavo/inputs/specirbench/q.rd
ln -sf /tmp/dachs-vac.csv /var/gavo/inputs/specirbench/vac.csv
chown -R gavo:gavo /var/gavo/inputs/specirbench
(cd /var/gavo/inputs/specirbench && dachs imp q)
echo "now run: dachs serve debug &   then (stop both afterwards: kill it, pg_ctlcluster 15 main stop):"
echo "PYTHONPATH=. python benchmarks/bench_tap.py --hostile --compare-url http://localhost:8080/tap"
