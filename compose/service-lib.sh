# Shared by the throwaway test servers (kafka.sh, oidc.sh, postgres.sh): sourced, not run.
# Each keeps its files in a folder named in "$state/<name>.dir".

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_java_service() {  # name: SIGTERM the process in <dir>/pid, SIGKILL after 20 s, remove its files
  [ -f "$state/$1.dir" ] || return 0
  local dir pid
  dir=$(cat "$state/$1.dir")
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir" "$state/$1.dir"
  log "stopped"
}
