# Sourced by the Scripts: installs the system packages the build needs, where missing.
# Debian/Ubuntu (apt-get); runs apt-get through sudo when not root.

sosched_apt_install() {
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing missing system packages: $*" >&2
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1; then
        $sudo apt-get update -q >/dev/null
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
    fi
}

sosched_ensure_build_deps() {
    local missing=()
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libprotobuf-c; then missing+=(libprotobuf-c-dev); fi
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists sqlite3; then missing+=(libsqlite3-dev); fi
    if [ ${#missing[@]} -gt 0 ]; then sosched_apt_install "${missing[@]}"; fi
}
