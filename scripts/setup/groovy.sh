#!/usr/bin/env bash
# Step: the Groovy compiler jar (Maven Central, through Maven) in .cache/groovy, so that the tests can parse the
# example Jenkinsfile with a real Groovy parser (Java 17). Skipped when the jar of the wanted version is there.
STEP_NAME=groovy
source "$(dirname "$0")/lib.sh"
VERSION="${BLISSFUL_GROOVY_VERSION:-4.0.24}"
dir="$CACHE_DIR/groovy"
jar="$dir/groovy-$VERSION.jar"
step "Groovy $VERSION (Jenkinsfile parser)"
if [ -s "$jar" ]; then skip "$jar present"; exit 0; fi
command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless || fail "no java and apt-get install openjdk-17-jre-headless failed"
command -v mvn >/dev/null 2>&1 || apt_install maven || fail "no mvn and apt-get install maven failed"
mkdir -p "$dir"
log="$dir/mvn.log"
if ! mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
    "-Dartifact=org.apache.groovy:groovy:$VERSION" "-DoutputDirectory=$dir" >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  fail "mvn dependency:copy org.apache.groovy:groovy:$VERSION failed (see $log)"
fi
[ -s "$jar" ] || fail "mvn left no $jar"
echo "    $jar"
