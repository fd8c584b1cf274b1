package main

import (
	"fmt"

	"github.com/slack-go/slack"
)

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// modal is the /triage modal: a title (prefilled with the command's text) and a priority.
func modal(channel, text string) slack.ModalViewRequest {
	title := slack.NewPlainTextInputBlockElement(plain("What needs triage?"), titleID)
	title.InitialValue = text
	medium := slack.NewOptionBlockObject("medium", plain("Medium"), nil)
	level := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Priority"), levelID,
		slack.NewOptionBlockObject("high", plain("High"), nil), medium, slack.NewOptionBlockObject("low", plain("Low"), nil))
	level.InitialOption = medium
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: modalID, PrivateMetadata: channel,
		Title: plain("New triage item"), Submit: plain("Post"), Close: plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(titleID, plain("Title"), nil, title),
			slack.NewInputBlock(levelID, plain("Priority"), nil, level),
		}},
	}
}

// summary is an item's message text (and its notification).
func summary(it item) string {
	s := fmt.Sprintf("[%s] %s (reported by <@%s>)", it.Priority, it.Title, it.Reporter)
	if it.Owner != "" {
		s += fmt.Sprintf(", taken by <@%s>", it.Owner)
	}
	return s
}

// itemBlocks is an open item's message: its summary, then Take and Close.
func itemBlocks(it item) []slack.Block {
	take := slack.NewButtonBlockElement(takeID, it.ID, plain("Take"))
	closeIt := slack.NewButtonBlockElement(closeID, it.ID, plain("Close")).WithStyle(slack.StyleDanger)
	return []slack.Block{
		slack.NewSectionBlock(mrkdwn(summary(it)), nil, nil),
		slack.NewActionBlock("item:"+it.ID, take, closeIt),
	}
}

// homeView is the App Home tab: the workspace's open items, one line each.
func homeView(items []item) slack.HomeTabViewRequest {
	blocks := []slack.Block{slack.NewHeaderBlock(plain(fmt.Sprintf("Open items: %d", len(items))))}
	for _, it := range items {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("<#%s> %s", it.Channel, summary(it))), nil, nil))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}
