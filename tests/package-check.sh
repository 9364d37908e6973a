#!/usr/bin/env bash
# Packs every package, installs them the way a user does, and checks the result end to end:
#   1. dotnet pack into artifacts/packages (the README's pack command), then a look inside each
#      package: metadata, README, dependencies, symbols, SourceLink (tests/LogPersist.PackageChecks packages);
#   2. tests/PackageConsumers/: a web API (the provider, the health check) and a Serilog worker
#      configured from JSON, which reference the packages by version from that folder, run against
#      the Loki-compatible test server (tests/LogPersist.PackageChecks webapi, serilog);
#   3. the logpersist tool, installed from its package, verifies the WAL the consumer left;
#   4. tests/LogPersist.AotSmoke, published with Native AOT, logs through the provider and ships
#      (tests/LogPersist.PackageChecks aot);
#   5. the logpersist tool published as one native binary (what an image without .NET copies in)
#      runs a shell under `logpersist run` (tests/LogPersist.PackageChecks run).
# Exit code 0 when every step passed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64 | arm64) rid=linux-arm64 ;;
  *) echo "Native AOT: no runtime identifier for $(uname -m)" >&2; exit 1 ;;
esac
version=$(dotnet msbuild src/LogPersist/LogPersist.csproj -getProperty:Version)
echo "== packing $version"
rm -rf artifacts/packages artifacts/consumer artifacts/aot artifacts/tool
dotnet pack LogPersist.sln -c Release -o artifacts/packages -warnaserror
ls -l artifacts/packages
dotnet build tests/LogPersist.PackageChecks -c Release -v q
checks=tests/LogPersist.PackageChecks/bin/Release/net10.0/LogPersist.PackageChecks.dll
dotnet "$checks" packages artifacts/packages "$version"

# A packages folder of its own: a package rebuilt under the same version is never taken from the machine's cache.
export NUGET_PACKAGES="$PWD/artifacts/consumer/packages"
echo "== installing the packages into tests/PackageConsumers"
for consumer in WebApi SerilogWorker; do
  dotnet build "tests/PackageConsumers/$consumer" -c Release -p:LogPersistVersion="$version" -warnaserror
done
dotnet tool install LogPersist.Cli --version "$version" --tool-path artifacts/consumer/tool --add-source artifacts/packages
unset NUGET_PACKAGES
# What was installed is what was packed, byte for byte, not a package of the same version from another source.
for id in LogPersist LogPersist.Extensions.Logging LogPersist.HealthChecks LogPersist.Serilog; do
  lower=$(echo "$id" | tr '[:upper:]' '[:lower:]')
  packed=$(openssl dgst -sha512 -binary "artifacts/packages/$id.$version.nupkg" | base64 -w0)
  installed=$(cat "artifacts/consumer/packages/$lower/$version/$lower.$version.nupkg.sha512")
  [ "$packed" = "$installed" ] || { echo "$id $version: the consumers installed a package other than the one packed" >&2; exit 1; }
done
echo "the consumers installed the packed packages"

echo "== publishing tests/LogPersist.AotSmoke and the logpersist tool with Native AOT"
dotnet publish tests/LogPersist.AotSmoke -c Release -r "$rid" -o artifacts/aot -warnaserror
dotnet publish src/LogPersist.Cli -c Release -r "$rid" -o "artifacts/tool/$rid" -warnaserror
mv "artifacts/tool/$rid/LogPersist.Cli" "artifacts/tool/$rid/logpersist"

echo "== checking the web API consumer"
dotnet "$checks" webapi artifacts/consumer/WebApiConsumer/bin/Release/net10.0/WebApiConsumer.dll artifacts/consumer/tool/logpersist
echo "== checking the Serilog consumer"
dotnet "$checks" serilog artifacts/consumer/SerilogWorkerConsumer/bin/Release/net10.0/SerilogWorkerConsumer.dll 1000
echo "== checking the Native AOT binary"
dotnet "$checks" aot artifacts/aot/LogPersist.AotSmoke 1000
echo "== checking the native logpersist tool"
dotnet "$checks" run "artifacts/tool/$rid/logpersist" 1000
