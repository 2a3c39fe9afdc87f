# transformers-lm: one Hugging Face causal LM per container.
#   docker build -t transformers-lm .                          # CPU libtorch (bundled in the jar)
#   docker build --build-arg TORCH_FLAVOR=cu128 -t transformers-lm:cuda .
# The CUDA image fetches DJL's CUDA libtorch while it builds, so the container never needs the network;
# it also runs on CPU when no GPU is visible.

ARG TORCH_FLAVOR=cpu

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src src
COPY generative_configs generative_configs
RUN mvn -B -q package -Dmaven.test.skip=true && cp target/transformers-lm-*.jar /src/app.jar \
    && java -Djarmode=tools -jar /src/app.jar extract --destination /src/extracted

FROM eclipse-temurin:17-jre AS runtime
ARG TORCH_FLAVOR
ARG PRETRAINED_MODEL_NAME_OR_PATH=""
ARG HALF_PRECISION=0
ARG SERVICE_PORT=8080
ARG SERVICE_NAME=transformers-lm
ARG GENERATIVE_CONFIG=default_generative_config.json
ARG ADDITIONAL_EOS_TOKENS=""
ARG LANGUAGE=EN

RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 1000 lm && useradd --system --uid 1000 --gid lm --create-home --home-dir /home/lm lm \
    && mkdir -p /models/cache /app && chown -R lm:lm /models /app

# JAVA_TOOL_OPTIONS: weights and the KV cache live in native memory (mapped files, libtorch); the Java heap
# only holds requests and per-step buffers, so a small heap, a 12 MB young generation and the serial
# collector keep the process about 250 MB smaller than G1 with a share of the container's memory; the
# free ratios let a full collection give the old generation's unused pages back (the service runs one
# after its warm-up); glibc
# keeps what libtorch frees unless trimmed (TrimNativeHeapInterval) and spreads it over an arena per
# thread (MALLOC_ARENA_MAX). Measured: README, "Memory".
ENV PRETRAINED_MODEL_NAME_OR_PATH=${PRETRAINED_MODEL_NAME_OR_PATH} \
    HALF_PRECISION=${HALF_PRECISION} \
    SERVICE_PORT=${SERVICE_PORT} \
    SERVICE_NAME=${SERVICE_NAME} \
    GENERATIVE_CONFIG=${GENERATIVE_CONFIG} \
    GENERATIVE_CONFIGS_DIR=/app/generative_configs \
    ADDITIONAL_EOS_TOKENS=${ADDITIONAL_EOS_TOKENS} \
    LANGUAGE=${LANGUAGE} \
    HF_HOME=/models/cache \
    DJL_CACHE_DIR=/home/lm/.djl.ai \
    OMP_WAIT_POLICY=PASSIVE \
    GOMP_SPINCOUNT=10000 \
    MALLOC_ARENA_MAX=2 \
    JAVA_TOOL_OPTIONS="-XX:+UseSerialGC -Xms32m -Xmx512m -Xmn12m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=5000 -XX:+ExitOnOutOfMemoryError"

WORKDIR /app
# The jar extracted (Spring Boot's tools mode): its libraries first, as they change least; a class data
# archive needs plain jars on the class path.
COPY --from=build --chown=lm:lm /src/extracted/lib /app/lib
COPY --from=build --chown=lm:lm /src/extracted/app.jar /app/app.jar
COPY --chown=lm:lm generative_configs /app/generative_configs
USER lm

# CUDA flavour: let DJL download its CUDA libtorch now, into the image, by starting the engine once.
RUN if [ "$TORCH_FLAVOR" != "cpu" ]; then \
      PYTORCH_FLAVOR=$TORCH_FLAVOR PYTORCH_VERSION=2.7.1 DJL_OFFLINE=false \
      java -cp /app/app.jar io.github.transformerslm.runtime.TorchRuntime; \
    fi
ENV PYTORCH_FLAVOR=${TORCH_FLAVOR} DJL_OFFLINE=true

# Class data sharing: a training run of the service on its bundled model (load, warm-up, one /respond,
# stop) writes the classes it loaded to /app/app.jsa, which every start maps instead of reading and
# verifying them from the jars again: ready 1.7 s sooner (ServiceBenchmark, GPT-2 small, 6.2-6.5 against
# 7.9-8.3 s), resident memory unchanged. The run also unpacks the CPU libtorch into DJL_CACHE_DIR, which
# each new container had otherwise copied out of its jar before it could load a model (432 MB, 3.3 s
# on a 2-vCPU VM).
RUN PRETRAINED_MODEL_NAME_OR_PATH= java -XX:ArchiveClassesAtExit=/app/app.jsa --add-modules jdk.incubator.vector \
        -jar /app/app.jar > /tmp/training.log 2>&1 & service=$!; \
    for i in $(seq 1 300); do \
      curl -fs "http://localhost:${SERVICE_PORT}/actuator/health/readiness" > /dev/null && break; \
      kill -0 $service 2> /dev/null || { cat /tmp/training.log; exit 1; }; \
      sleep 1; \
    done; \
    curl -fsS -X POST "http://localhost:${SERVICE_PORT}/respond" -H 'content-type: application/json' \
        -d '{"dialog_contexts": [["Hello"]]}' > /dev/null || { cat /tmp/training.log; exit 1; }; \
    kill $service; wait $service; \
    rm -f /tmp/training.log; test -s /app/app.jsa

VOLUME ["/models/cache"]
EXPOSE ${SERVICE_PORT}
HEALTHCHECK --interval=10s --timeout=5s --start-period=600s --retries=3 \
    CMD curl -fsS "http://localhost:${SERVICE_PORT}/actuator/health/readiness" || exit 1
# The decode kernels use the Vector API, an incubator module in Java 17.
ENTRYPOINT ["java", "-XX:SharedArchiveFile=/app/app.jsa", "--add-modules", "jdk.incubator.vector", "-jar", "/app/app.jar"]
