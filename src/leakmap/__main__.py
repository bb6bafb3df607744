from leakmap.cli import main

main()
