from dvhpc.cli import main

main()
