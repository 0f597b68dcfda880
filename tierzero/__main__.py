from tierzero.cli import main

main()
