#!/usr/bin/env bash
# Links the WebAssembly of the widget and its tests with rust-lld, minus the exports of wasm-streams' three JavaScript classes.
# Cargo runs it as the wasm32 linker (.cargo/config.toml); rustc hands it wasm-ld's arguments.
# Leptos always turns on its server functions' streaming, and wasm-streams exports
# IntoUnderlyingSource, IntoUnderlyingByteSource and IntoUnderlyingSink to JavaScript;
# the widget never uses them (scripts/shrink-bundle.mjs cuts their classes from the glue).
# Exported, they keep at link time everything they reach, and what the linker keeps
# reaches the function table through its vtables, where no later tool can prove it
# unused: some 3 KB brotli of the first tap's bundle. So their exports (the classes'
# methods and wasm-bindgen's descriptions of them) are dropped before the linker runs.
# rustc passes each export as `--export NAME`, or all its arguments in an @file when the
# command line is too long; both are filtered.
set -euo pipefail

is_stream_class_export() {
    case "$1" in
        *intounderlying* | *into_underlying*) return 0 ;;
        *) return 1 ;;
    esac
}

# Prints the arguments one a line, without the exports of the stream classes.
filter_arguments() {
    local export_next=0 argument
    for argument in "$@"; do
        if [ "$export_next" = 1 ]; then
            export_next=0
            is_stream_class_export "$argument" || printf '%s\n%s\n' --export "$argument"
        elif [ "$argument" = --export ]; then
            export_next=1
        elif [[ "$argument" == --export=* ]]; then
            is_stream_class_export "${argument#--export=}" || printf '%s\n' "$argument"
        else
            printf '%s\n' "$argument"
        fi
    done
}

sysroot="$(rustc --print sysroot)"
host="$(rustc -vV | sed -n 's/^host: //p')"
linker="$sysroot/lib/rustlib/$host/bin/rust-lld"

arguments=()
for argument in "$@"; do
    if [[ "$argument" == @* ]]; then
        # An argument file holds one argument a line (export names need no escaping).
        mapfile -t from_file <"${argument#@}"
        mapfile -t filtered < <(filter_arguments "${from_file[@]}")
        printf '%s\n' "${filtered[@]}" >"${argument#@}.filtered"
        arguments+=("@${argument#@}.filtered")
    else
        arguments+=("$argument")
    fi
done
mapfile -t filtered < <(filter_arguments "${arguments[@]}")
exec "$linker" "${filtered[@]}"
