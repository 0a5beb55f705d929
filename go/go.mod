module github.com/pii-project/pii/go

go 1.22
