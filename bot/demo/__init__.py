"""`grassroots demo`: a scripted tour of the real bot against the local Bot API emulator.

tour.py runs it (main); speaker.py prints the transcript (show, Speaker); cases, problems,
villages, rhythm and stage are its chapters."""
