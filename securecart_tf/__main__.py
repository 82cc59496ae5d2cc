from securecart_tf.cli.app import main

main()
