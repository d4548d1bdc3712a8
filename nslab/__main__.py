from nslab.cli.main import main

main()
