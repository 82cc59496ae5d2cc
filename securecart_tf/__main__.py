from securecart_tf.cli import main

main()
