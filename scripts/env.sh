# Sourced by btfkit's scripts: where the BPF toolchain lives.
export BTFKIT_TOOLS="${BTFKIT_TOOLS:-$HOME/.local/share/btfkit}"
export BTFKIT_RUSTC="${BTFKIT_RUSTC:-/usr/bin/rustc}"
export BTFKIT_CARGO="${BTFKIT_CARGO:-/usr/bin/cargo}"
case ":$PATH:" in *":$BTFKIT_TOOLS/bin:"*) ;; *) export PATH="$BTFKIT_TOOLS/bin:$PATH" ;; esac
