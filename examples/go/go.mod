module example.com/hookhub-receiver

go 1.21
