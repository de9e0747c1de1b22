# newspipe: one image with the workers and tools (newspipe-*); the service picks the command
# (docker-compose.yml runs newspipe-ingest, newspipe-classify, newspipe-store from it).
#
#   docker build -t newspipe .
#   docker run --rm newspipe newspipe-ingest --help
#
# Build stage: the same CMake build as CI (warnings are errors), tests included, not run here.
FROM debian:bookworm-slim AS build
WORKDIR /src
# install-deps first and alone, so the package layer is cached across source changes.
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNP_WERROR=ON \
    && cmake --build build -j"$(nproc)"

# Runtime stage: only the shared libraries, the newspipe-* binaries and the configuration.
FROM debian:bookworm-slim
COPY scripts/install-deps /tmp/install-deps
RUN /tmp/install-deps --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps \
    && useradd --user-group --no-create-home --uid 10001 --home-dir /var/lib/newspipe \
        --shell /usr/sbin/nologin newspipe \
    && install -d -o newspipe -g newspipe -m 750 /var/lib/newspipe
COPY --from=build /src/build/bin/newspipe-* /usr/local/bin/
COPY config/ /etc/newspipe/
# ingest's journal goes under /var/lib/newspipe (docker-compose.yml mounts the named volume
# "journal" there for ingest only); classify's taxonomy is the one shipped in config/. No VOLUME
# line: it would give every container of the image (migrate, store, each classify) an anonymous
# volume of its own, left behind by `docker compose down`.
ENV NP_INGEST_JOURNAL_DIR=/var/lib/newspipe/journal \
    NP_CLASSIFY_TAXONOMY=/etc/newspipe/taxonomy.json
WORKDIR /var/lib/newspipe
USER newspipe:newspipe
# ingest: 5555 PULL, 5556 ROUTER, 5557 PUSH to classify, 5558 acks; store: 5559 PULL.
# HTTP /metrics, /healthz, /readyz: ingest 9101, classify 9102, store 9103.
EXPOSE 5555 5556 5557 5558 5559 9101 9102 9103
CMD ["newspipe-ingest"]
