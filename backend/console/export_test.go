package console

// CheckTable exposes checkTable to the black-box tests.
var CheckTable = checkTable
