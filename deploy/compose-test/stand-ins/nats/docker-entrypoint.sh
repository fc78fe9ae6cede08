#!/bin/sh
# As the official nats image: flags alone mean "nats-server with these flags".
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    set -- nats-server "$@"
fi
exec "$@"
