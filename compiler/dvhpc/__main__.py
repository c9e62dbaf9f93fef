from dvhpc._entry import main

main()
