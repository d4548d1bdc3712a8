#!/usr/bin/env bash
# Vagrant provisioner (runs as root inside the VM): put the nslab sources that the Vagrantfile
# uploaded into /opt/nslab, install them with scripts/install.sh (the same script `make install`
# and CI use, so system packages are listed once, in scripts/install-deps.sh), and fail the
# provisioning unless `nslab doctor` is green.
# Usage: provision.sh STAGING_DIR     (safe to run again: `vagrant provision`)
set -euo pipefail

# install.sh puts `nslab` in /usr/local/bin; make sure this shell finds it there.
export PATH="/usr/local/sbin:/usr/local/bin:$PATH"
staging=${1:?usage: provision.sh STAGING_DIR}
target=/opt/nslab
learner=${NSLAB_LEARNER:-vagrant}

if [ ! -f "$staging/pyproject.toml" ] || [ ! -f "$staging/scripts/install.sh" ]; then
    echo "provision.sh: $staging does not hold an nslab checkout (was the upload skipped?)" >&2
    exit 2
fi

# A Windows checkout may have turned the shell scripts' line ends into CRLF, which bash
# rejects ("$'\r': command not found"). Vagrant converts this script itself, not the uploads.
find "$staging" -name '*.sh' -type f -exec sed -i 's/\r$//' {} +

# Replace each uploaded entry; keep what lives only in the VM (.venv, learners' own files).
mkdir -p "$target"
for entry in "$staging"/*; do
    [ -e "$entry" ] || continue
    name=$(basename "$entry")
    rm -rf "${target:?}/$name"
    mv "$entry" "$target/$name"
done
rm -rf "$staging"

bash "$target/scripts/install.sh"

# The scenarios at hand in the learner's home directory (copy one there to write your own),
# unless the learner already has something of their own called ~/scenarios.
if id "$learner" >/dev/null 2>&1; then
    link="$(getent passwd "$learner" | cut -d: -f6)/scenarios"
    if [ -L "$link" ] || [ ! -e "$link" ]; then
        ln -sfn "$target/scenarios" "$link"
    fi
fi

echo "== nslab doctor"
nslab doctor
echo
echo "== scenarios"
nslab list
cat <<'TXT'

nslab is ready. Next:
  vagrant ssh
  nslab list                  # the scenarios, in course order
  sudo nslab up two-hosts     # build your first lab
See vagrant/README.md for the whole walk.
TXT
