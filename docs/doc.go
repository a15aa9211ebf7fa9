// Package docs holds the project's own documentation (the Markdown files
// beside this one). It has no code; its test checks that every repository
// path named in a Go comment, in README.md or in these documents exists.
package docs
