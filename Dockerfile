# syntax=docker/dockerfile:1
#
# The taskbroker command line as an image: `docker run IMAGE worker`, `... migrate`, `... submit`.
# Built by docker-compose.yml; by hand: docker build -t taskbroker:local .

# ---- build: the whole reactor, tests skipped (CI runs them) ----
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
# The cache mount keeps ~/.m2 (dependencies and the wrapper's Maven) between builds.
# spotless.skip: formatting the sources is the developers' job, not the image's.
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -q -B package -DskipTests -Dspotless.skip=true \
 && cp cli-module/target/taskbroker.jar /taskbroker.jar

# ---- runtime: a JRE and the one shaded jar ----
FROM eclipse-temurin:17-jre
RUN groupadd --system taskbroker \
 && useradd --system --gid taskbroker --home-dir /app --shell /usr/sbin/nologin taskbroker \
 && mkdir -p /app /plugins \
 && chown taskbroker:taskbroker /app /plugins
COPY --from=build /taskbroker.jar /app/taskbroker.jar
USER taskbroker
WORKDIR /app
# Plugin jars go here (docker-compose.yml mounts ./plugins); the worker reads them with
# --plugins-dir /plugins.
VOLUME ["/plugins"]
# Exec form: java is the process that receives SIGTERM (with `init: true`, tini forwards it), so
# `docker stop` drains the worker instead of killing it.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-jar", "/app/taskbroker.jar"]
CMD ["--help"]
