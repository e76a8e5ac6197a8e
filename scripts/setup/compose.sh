#!/usr/bin/env bash
# Step: Docker Compose v2 as a CLI plugin. Untouched when `docker compose version` answers.
# Bookworm has no compose v2; Debian trixie's docker-compose package carries the plugin binary.
STEP_NAME=compose
source "$(dirname "$0")/lib.sh"
step "Docker Compose v2"
if docker compose version >/dev/null 2>&1; then skip "$(docker compose version)"; exit 0; fi
mirror=$(debian_mirror)
work="$CACHE_DIR/compose-apt"
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/pkg"
cat > "$work/trixie.sources" <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Trusted: yes
SRC
apt_opts=(-o "Dir::Etc::SourceList=$work/trixie.sources" -o "Dir::Etc::SourceParts=-"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives" -o "APT::Get::List-Cleanup=0")
echo "    fetching docker-compose from trixie"
as_root apt-get "${apt_opts[@]}" update -qq >/dev/null || fail "apt-get update for trixie failed"
(cd "$work/pkg" && as_root apt-get "${apt_opts[@]}" download docker-compose >/dev/null) || fail "apt-get download docker-compose failed"
deb=$(ls "$work/pkg"/docker-compose_*.deb | head -n1)
rm -rf "$work/x" && dpkg -x "$deb" "$work/x"
plugin_dir=/usr/local/lib/docker/cli-plugins
[ -w /usr/local/lib ] || plugin_dir="$HOME/.docker/cli-plugins"
mkdir -p "$plugin_dir"
install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugin_dir/docker-compose"
docker compose version || fail "docker compose still not usable"
