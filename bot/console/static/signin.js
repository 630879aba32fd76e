// A sign-in link opens a page with a button, so that a program that fetches links to preview
// them cannot use up the link; a person's browser presses it at once.
document.getElementById("signin").submit();
