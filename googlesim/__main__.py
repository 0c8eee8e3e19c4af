"""python -m googlesim --host 127.0.0.1 --port PORT [--data FILE] [--auto-consent]"""
import argparse
import logging

from werkzeug.serving import make_server

from .app import create_app


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m googlesim",
                                     description="A local fake of Google OAuth, Calendar and "
                                                 "People APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data", help="SQLite file that keeps state across restarts")
    parser.add_argument("--auto-consent", action="store_true",
                        help="approve the consent page at once when login_hint is given")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = create_app(data=args.data, auto_consent=args.auto_consent)
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"googlesim serving on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
