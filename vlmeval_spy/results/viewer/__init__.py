"""The local results viewer (`spy-bench view`): the results of work dirs loaded once through the
leaderboard's discovery and the result readers, filtered and paged on the server, served as a small
web app on a loopback port with a plain HTML/JS page, or written as one self-contained HTML file."""
