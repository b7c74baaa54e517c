#!/usr/bin/env bash
# Goal: a bounded swarm of seeds, each a whole simulated run of the node
# (random shard and client counts, random fault rates), passes: no contract
# breach, no reply the model forbids, no request left unanswered.
# Method: cairn-sim swarm over SEEDS seeds from FROM, as many jobs as cores;
# failing cases are saved in OUT (by default a scratch directory, printed)
# with the command that replays each. Usage: swarm.sh CAIRN_SIM SEEDS [FROM [OUT]]
set -euo pipefail
sim=$1 seeds=$2 from=${3:-1}
out=${4:-$(mktemp -d /tmp/cairn-swarm.XXXXXX)}
"$sim" swarm --seeds "$seeds" --from "$from" --jobs "$(nproc)" --out "$out"
