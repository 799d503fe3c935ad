"""`python app.py`: start the mockloop web app on 127.0.0.1:7860 (see `mockloop serve --help`)."""

from mockloop.cli.serve import serve_main

if __name__ == "__main__":
    serve_main()
